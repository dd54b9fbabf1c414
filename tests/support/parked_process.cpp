#include "parked_process.hpp"

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace cgfence::test {

ParkedProcess::ParkedProcess(const TestCgroup &cgroup)
{
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    const std::string procs = cgroup.path() + "/cgroup.procs";
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        const bool joined = fd >= 0 && ::write(fd, "0", 1) == 1;
        (void)!::write(ready[1], joined ? "y" : "n", 1);
        for (;;)
            ::pause();
    }
    ::close(ready[1]);
    char status = 0;
    const bool told = ::read(ready[0], &status, 1) == 1;
    ::close(ready[0]);
    if (!told || status != 'y') {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        throw std::runtime_error("a parked process could not join " + procs);
    }
}

void ParkedProcess::move_to(const TestCgroup &cgroup) const
{
    const std::string procs = cgroup.path() + "/cgroup.procs";
    const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    const std::string pid = std::to_string(pid_);
    const bool moved = fd >= 0 && ::write(fd, pid.data(), pid.size()) == ssize_t(pid.size());
    if (fd >= 0)
        ::close(fd);
    if (!moved)
        throw std::runtime_error("a parked process could not move to " + procs);
}

ParkedProcess::~ParkedProcess()
{
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

} // namespace cgfence::test
