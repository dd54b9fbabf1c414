#include "workload.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace cgfence::bench {

namespace {

// A page shared with the measuring child: it writes its own timing there,
// so the fork, the cgroup move and the exit are not in the figure.
class SharedResult {
  public:
    SharedResult()
        : page_(::mmap(nullptr, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0))
    {
        if (page_ == MAP_FAILED)
            throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
    }
    SharedResult(const SharedResult &) = delete;
    SharedResult &operator=(const SharedResult &) = delete;
    ~SharedResult() { ::munmap(page_, sizeof(double)); }
    double &value() { return *static_cast<double *>(page_); }

  private:
    void *page_;
};

double now_ns()
{
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// Child exit codes, for the error message.
constexpr int kWrongOutcome = 90;

int open_loop(const std::string &path, Expect expect, long iterations)
{
    const char *file = path.c_str();
    for (long i = 0; i < iterations; i++) {
        int fd = ::open(file, O_RDONLY | O_CLOEXEC);
        if (expect == Expect::allow) {
            if (fd < 0)
                return kWrongOutcome;
            ::close(fd);
        } else if (fd >= 0 || errno != EACCES) {
            return kWrongOutcome;
        }
    }
    return 0;
}

// The chain execs itself `execs` times; a denied exec fails at once, so the
// deny case is a loop of failing execve in one process.
int exec_loop(const std::string &path, Expect expect, long execs)
{
    const std::string count = std::to_string(expect == Expect::allow ? execs - 1 : 0);
    char *argv[] = {const_cast<char *>(path.c_str()), const_cast<char *>(count.c_str()), nullptr};
    char *envp[] = {nullptr};
    if (expect == Expect::allow) {
        ::execve(argv[0], argv, envp);
        return 100 + errno;
    }
    for (long i = 0; i < execs; i++) {
        if (::execve(argv[0], argv, envp) == 0 || errno != EACCES)
            return kWrongOutcome;
    }
    return 0;
}

int wait_status(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double measured(const test::TestCgroup &cgroup, const std::string &what,
                const std::function<int(double &)> &body)
{
    SharedResult result;
    const int status = test::run_in(cgroup, [&] { return body(result.value()); });
    if (status != 0)
        throw std::runtime_error(what + ": unexpected outcome in " + cgroup.path() +
                                 " (child exit status " + std::to_string(status) + ")");
    return result.value();
}

} // namespace

double time_opens(const test::TestCgroup &cgroup, const std::string &path, Expect expect,
                  long iterations)
{
    return measured(cgroup, "open " + path, [&](double &ns) {
        // One untimed pass fills the dentry and inode caches and the CPU's.
        if (int status = open_loop(path, expect, 1000); status != 0)
            return status;
        const double start = now_ns();
        const int status = open_loop(path, expect, iterations);
        ns = (now_ns() - start) / static_cast<double>(iterations);
        return status;
    });
}

double time_execs(const test::TestCgroup &cgroup, const std::string &path, Expect expect,
                  long execs)
{
    return measured(cgroup, "execve " + path, [&](double &ns) {
        // A short untimed chain first, as for opens; then the timed one. The
        // child forks each chain and waits: one fork and wait among `execs` execs.
        for (const bool timed : {false, true}) {
            const long count = timed ? execs : 10;
            const double start = now_ns();
            pid_t pid = ::fork();
            if (pid == 0)
                ::_exit(exec_loop(path, expect, count));
            const int status = wait_status(pid);
            ns = (now_ns() - start) / static_cast<double>(count);
            if (status != 0)
                return status;
        }
        return 0;
    });
}

} // namespace cgfence::bench
