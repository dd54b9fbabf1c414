#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

namespace cgfence::test {
namespace {

UniqueFd memory_file(const char *name)
{
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd)
        throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
    return fd;
}

std::string contents(const UniqueFd &fd)
{
    std::string text;
    char buffer[4096];
    for (off_t offset = 0;;) {
        const ssize_t n = ::pread(fd.get(), buffer, sizeof(buffer), offset);
        if (n <= 0)
            break;
        text.append(buffer, static_cast<size_t>(n));
        offset += n;
    }
    return text;
}

// How long a killed program gets to end before it is left behind.
constexpr int kEndAfterKillMs = 30000;

std::string file_text(const std::string &path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Where a process and its descendants wait in the kernel: what is reported
// of a program that did not end when killed (uninterruptible sleep).
std::string kernel_stacks(pid_t pid, int levels = 8)
{
    const std::string proc = "/proc/" + std::to_string(pid);
    std::string out = file_text(proc + "/stat").substr(0, 80) + "\n" + file_text(proc + "/stack");
    std::istringstream children(file_text(proc + "/task/" + std::to_string(pid) + "/children"));
    for (pid_t child = 0; levels > 0 && children >> child;)
        out += kernel_stacks(child, levels - 1);
    return out;
}

// SIGKILLs `pid` and reaps it; false (and it is left unreaped) when it has
// not ended after kEndAfterKillMs: a task stuck in the kernel must not hang
// the suite.
bool kill_and_reap(pid_t pid, int pidfd, int *status)
{
    ::kill(pid, SIGKILL);
    pollfd ended{pidfd, POLLIN, 0};
    int ready = 0;
    while ((ready = ::poll(&ended, 1, kEndAfterKillMs)) < 0 && errno == EINTR) {
    }
    if (ready == 0)
        return false;
    while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    return true;
}

void write_all(int fd, const std::string &text)
{
    for (size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // the program closed its stdin: what it read is what it gets
        done += static_cast<size_t>(n);
    }
}

int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

} // namespace

std::string summary(const Finished &finished)
{
    std::string text = "exit " + std::to_string(finished.status);
    if (!finished.out.empty())
        text += ", stdout: " + finished.out;
    if (!finished.err.empty())
        text += ", stderr: " + finished.err;
    return text;
}

std::string outcome(const Finished &finished)
{
    return summary(Finished{finished.status, "", finished.err});
}

Spawned::Spawned(const std::vector<std::string> &argv, const std::string &input)
    : out_(memory_file("stdout")), err_(memory_file("stderr"))
{
    // A program that exits without reading its stdin must not kill the test.
    static const bool sigpipe_ignored = ::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
    (void)sigpipe_ignored;
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    UniqueFd read_end(in[0]);
    UniqueFd write_end(in[1]);
    std::vector<char *> args;
    args.reserve(argv.size() + 1);
    for (const std::string &arg : argv)
        args.push_back(const_cast<char *>(arg.c_str()));
    args.push_back(nullptr);

    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        ::signal(SIGPIPE, SIG_DFL);
        if (::dup2(read_end.get(), 0) < 0 || ::dup2(out_.get(), 1) < 0 || ::dup2(err_.get(), 2) < 0)
            ::_exit(126);
        ::execvp(args[0], args.data());
        const std::string why = std::string("exec ") + args[0] + ": " + std::strerror(errno) + "\n";
        (void)!::write(2, why.data(), why.size());
        ::_exit(127);
    }
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    read_end.reset();
    write_all(write_end.get(), input);
}

Spawned::Spawned(Spawned &&other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)),
      out_(std::move(other.out_)), err_(std::move(other.err_))
{
}

Spawned::~Spawned()
{
    int status = 0;
    if (pid_ > 0)
        (void)kill_and_reap(pid_, pidfd_.get(), &status);
}

Finished Spawned::wait(std::chrono::milliseconds timeout)
{
    Finished finished;
    pollfd ended{pidfd_.get(), POLLIN, 0};
    const bool timed_out = ::poll(&ended, 1, static_cast<int>(timeout.count())) == 0;
    int status = 0;
    std::string stuck;
    if (!timed_out) {
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    } else if (const std::string stacks = kernel_stacks(pid_);
               !kill_and_reap(pid_, pidfd_.get(), &status)) {
        stuck = "\n[did not end " + std::to_string(kEndAfterKillMs / 1000) +
                " s after SIGKILL, left behind; where it and its children waited before:\n" +
                stacks + "]";
    }
    pid_ = -1;
    finished.status = timed_out ? kTimedOut : exit_code(status);
    finished.out = contents(out_);
    finished.err = contents(err_) + stuck;
    return finished;
}

Finished run_captured(const std::vector<std::string> &argv, const std::string &input,
                      std::chrono::milliseconds timeout)
{
    return Spawned(argv, input).wait(timeout);
}

} // namespace cgfence::test
