#include "object_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "kernel_dev.hpp"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

namespace cgfence {

const MountEntry *find_mount(const std::vector<MountEntry> &mounts, uint64_t mount_id)
{
    for (const MountEntry &m : mounts) {
        if (m.mount_id == mount_id)
            return &m;
    }
    return nullptr;
}

Result<ObjectKey> object_key(int fd, const std::vector<MountEntry> &mounts)
{
    struct statx info {};
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_TYPE | STATX_MNT_ID,
                &info) != 0)
        return system_error("statx", "fd " + std::to_string(fd));
    if (!(info.stx_mask & STATX_MNT_ID))
        return logic_error("statx", "fd " + std::to_string(fd),
                           "the kernel reports no mount id (needs Linux 5.8 or later)");
    const MountEntry *mount = find_mount(mounts, info.stx_mnt_id);
    if (!mount)
        return logic_error("find mount", std::to_string(info.stx_mnt_id),
                           "the object's mount is not in the mount table read");
    ObjectKey key;
    key.dev = kernel_dev(mount->major_number, mount->minor_number);
    key.ino = info.stx_ino;
    key.mount_id = info.stx_mnt_id;
    key.is_directory = S_ISDIR(info.stx_mode);
    return key;
}

} // namespace cgfence
