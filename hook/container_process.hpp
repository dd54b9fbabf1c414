// A process of a running container, to see the container's files through:
// found by the container's cgroup id alone (no pid from anyone) and held by a
// pidfd, so its pid cannot name another process while it is used.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "error.hpp"
#include "unique_fd.hpp"

namespace cgfence {

class HeldProcess {
  public:
    static Result<HeldProcess> open(pid_t pid);
    [[nodiscard]] pid_t pid() const { return pid_; }
    // Did it live until now? (Then what was read through /proc/<pid> was its.)
    [[nodiscard]] bool alive() const;

  private:
    pid_t pid_ = 0;
    UniqueFd fd_;
};

// A process in the cgroup with this id or in one of its descendants, held
// and then found in that cgroup still: a pid reused between reading
// cgroup.procs and holding it is not taken for the container's.
Result<HeldProcess> container_process(uint64_t cgroup_id);

} // namespace cgfence
