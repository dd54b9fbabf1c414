// A container's filesystem as the container will see it, from the host, at
// prestart/createRuntime: its mount namespace (the runtime's mounts of /proc,
// /dev and volumes are there) rooted at its rootfs. Nothing in the image can
// point a resolution outside the rootfs: every path is resolved by the kernel
// with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so absolute and
// relative symlinks, ".." chains and magic links stay inside or fail.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "error.hpp"
#include "mountinfo.hpp"
#include "object_key.hpp"
#include "unique_fd.hpp"

namespace cgfence {

// A mount of the container's view, by the path the container sees it at.
struct ViewMount {
    std::string path; // absolute, in the container's view ("/" for the rootfs)
    const MountEntry *entry = nullptr;
};

class ContainerView {
  public:
    // The view of the process `pid_fd` (a pidfd of `pid`) whose rootfs is at
    // `rootfs` (an absolute host path, as in the bundle's config.json).
    static Result<ContainerView> open(pid_t pid, const std::string &rootfs);
    // The view of a running container's process `pid` whose root directory
    // (the container's "/", pivoted) is `root`: opened by the caller, which
    // checked it, so a later chroot of the process changes nothing here. Its
    // mount table names mounts as the container does.
    static Result<ContainerView> open_running(pid_t pid, UniqueFd root);
    // A view of a directory tree in the caller's own mount namespace (tests,
    // and checking a rootfs before any container runs).
    static Result<ContainerView> open_directory(const std::string &rootfs);

    // An O_PATH descriptor of `path` (absolute, as the container sees it).
    Result<UniqueFd> open_path(const std::string &path) const;
    // The (dev, ino) the kernel sees for `path`.
    Result<ObjectKey> key(const std::string &path) const;

    // The rootfs mount and every mount below it, shallowest first.
    [[nodiscard]] std::vector<ViewMount> mounts() const;
    [[nodiscard]] const MountEntry *rootfs_mount() const;
    // A host path (an overlay layer) in the container's mount namespace.
    Result<ObjectKey> host_key(const std::string &host_path) const;

  private:
    ContainerView() = default;
    static Result<ContainerView> open_in(UniqueFd namespace_root, const std::string &mountinfo_pid,
                                         const std::string &rootfs);

    UniqueFd namespace_root_; // "/" in the container's mount namespace
    UniqueFd rootfs_;
    std::string rootfs_path_; // the rootfs's real path, as mountinfo shows it
    std::vector<MountEntry> mounts_;
};

} // namespace cgfence
