// The (dev, ino) a BPF program sees for an open object.
//
// st_dev is the wrong dev twice over: userspace encodes it differently from
// the kernel's s_dev, and an overlay whose layers sit on different filesystems
// reports per-layer pseudo devices that the kernel never shows a program.
// The dev of the object's mount in mountinfo is the superblock's own s_dev.
#pragma once

#include <cstdint>
#include <vector>

#include "error.hpp"
#include "mountinfo.hpp"

namespace cgfence {

struct ObjectKey {
    uint32_t dev = 0; // kernel encoding
    uint64_t ino = 0;
    uint64_t mount_id = 0;
    bool is_directory = false;
};

// The key of the object `fd` refers to (an O_PATH fd will do), using the
// mounts of the namespace the fd was opened in.
Result<ObjectKey> object_key(int fd, const std::vector<MountEntry> &mounts);

// The mount with this id, or nullptr.
const MountEntry *find_mount(const std::vector<MountEntry> &mounts, uint64_t mount_id);

} // namespace cgfence
