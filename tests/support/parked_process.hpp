// A process parked in a cgroup until the end of a test, as a container's init
// is at prestart: the pid a hook's state names.
#pragma once

#include <sys/types.h>

#include "sandbox.hpp"

namespace cgfence::test {

class ParkedProcess {
  public:
    // It has joined `cgroup` when the constructor returns (else it throws).
    explicit ParkedProcess(const TestCgroup &cgroup);
    ParkedProcess(const ParkedProcess &) = delete;
    ParkedProcess &operator=(const ParkedProcess &) = delete;
    ~ParkedProcess(); // SIGKILL, and reaped

    // Moves it into another cgroup (throws when it cannot).
    void move_to(const TestCgroup &cgroup) const;

    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

} // namespace cgfence::test
