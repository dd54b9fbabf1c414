#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
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
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

Finished Spawned::wait(std::chrono::milliseconds timeout)
{
    Finished finished;
    pollfd ended{pidfd_.get(), POLLIN, 0};
    const bool timed_out = ::poll(&ended, 1, static_cast<int>(timeout.count())) == 0;
    if (timed_out)
        ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    finished.status = timed_out ? kTimedOut : exit_code(status);
    finished.out = contents(out_);
    finished.err = contents(err_);
    return finished;
}

Finished run_captured(const std::vector<std::string> &argv, const std::string &input,
                      std::chrono::milliseconds timeout)
{
    return Spawned(argv, input).wait(timeout);
}

} // namespace cgfence::test
