// The cgroup v2 directory a runtime put a container in, found from the
// container's pid at prestart, and checked to be the container's own.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

#include "error.hpp"
#include "unique_fd.hpp"

namespace cgfence {

struct ContainerCgroup {
    std::string path; // absolute, on the cgroup2 mount
    uint64_t id = 0;  // the directory's inode number: what the program sees
    int level = 0;    // 0 is the root
};

// Where cgroup v2 is mounted (from mountinfo: never assumed).
Result<std::string> cgroup2_mount_point();

// The unified-hierarchy path in /proc/<pid>/cgroup ("0::/a/b" -> "/a/b").
Result<std::string> unified_cgroup_path(const std::string &pid);

// The cgroup of `pid`, refused (with a message saying why and what to do)
// when it is the root cgroup, the hook's own (the runtime's: the container
// has no cgroup of its own), or deeper than the program looks.
Result<ContainerCgroup> container_cgroup(pid_t pid);

// The cgroup directory with this id, opened by file handle on the cgroup2
// mount (a cgroup's id is its kernfs file handle): no path, no pid, no race
// with a new cgroup of the same name. ESTALE or ENOENT: it is gone.
Result<UniqueFd> open_cgroup(uint64_t id);

// Does the cgroup with this id still exist? Asked by file handle on the
// cgroup2 mount (a cgroup's id is its kernfs file handle), so no path, no pid
// and no race with a new cgroup of the same name.
Result<bool> cgroup_exists(uint64_t id);

} // namespace cgfence
