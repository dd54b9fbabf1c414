// A process of a running container, to see the container's files through:
// found by the container's cgroup id alone (no pid from anyone), held by a
// pidfd (whether it lived through the reads can be asked), and only one that
// still has the view the container started with.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "abi.hpp"
#include "error.hpp"
#include "unique_fd.hpp"

namespace cgfence {

class ContainerView;

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

// A container's view: its mount namespace and its root directory.
struct ViewIdentity {
    uint64_t mnt_ns = 0; // nsfs inode of /proc/<pid>/ns/mnt
    uint64_t root_dev = 0;
    uint64_t root_ino = 0;
};

// The view of `pid`, whose root is `view`'s rootfs (at set-up, before the
// container's init pivots into it).
Result<ViewIdentity> view_identity(pid_t pid, const ContainerView &view);

// The view the hook recorded at set-up.
ViewIdentity recorded_view(const cgfence_record &record);

struct ContainerProcess {
    HeldProcess process;
    UniqueFd root; // its "/" (O_PATH), checked to be the view's root
};

// A process in the cgroup with this id or in one of its descendants whose
// mount namespace and root are `view`'s (a process that chrooted or made a
// namespace of its own is passed over), held and then found in that cgroup
// still, so a pid reused meanwhile is not taken for the container's.
Result<ContainerProcess> container_process(uint64_t cgroup_id, const ViewIdentity &view);

} // namespace cgfence
