#include "container_view.hpp"

#include <algorithm>
#include <climits>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cgfence {
namespace {

// openat2 fails a RESOLVE_IN_ROOT lookup with EAGAIN when any rename or mount
// on the system races a ".." step of it (the kernel asks callers to retry).
// Container engines rename state files while others start: retry, bounded,
// so a busy host does not fail a container's start. Found by fuzzing.
constexpr int kOpenat2Attempts = 64;

int openat2_fd(int dir, const std::string &path, uint64_t flags, uint64_t resolve)
{
    open_how how{};
    how.flags = flags;
    how.resolve = resolve;
    int fd = -1;
    for (int attempt = 0; attempt < kOpenat2Attempts; attempt++) {
        fd = static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd;
}

// "/a/b/" -> "a/b"; "/" -> "." (openat2 wants a relative path below a dirfd)
std::string relative(const std::string &path)
{
    size_t start = path.find_first_not_of('/');
    if (start == std::string::npos)
        return ".";
    std::string rel = path.substr(start);
    while (rel.size() > 1 && rel.back() == '/')
        rel.pop_back();
    return rel;
}

Result<std::string> real_path(int fd)
{
    char buffer[PATH_MAX];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t length = ::readlink(link.c_str(), buffer, sizeof(buffer) - 1);
    if (length < 0)
        return system_error("readlink", link);
    return std::string(buffer, static_cast<size_t>(length));
}

bool is_below(const std::string &path, const std::string &root)
{
    if (root == "/")
        return true;
    return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                            path[root.size()] == '/');
}

} // namespace

Result<ContainerView> ContainerView::open(pid_t pid, const std::string &rootfs)
{
    // At prestart the container's process has its own mount namespace but
    // has not pivoted yet: its root is the host's "/" in that namespace.
    const std::string root = "/proc/" + std::to_string(pid) + "/root";
    UniqueFd namespace_root(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!namespace_root)
        return system_error("open mount namespace of process", root);
    return open_in(std::move(namespace_root), std::to_string(pid), rootfs);
}

Result<ContainerView> ContainerView::open_running(pid_t pid, UniqueFd root)
{
    return open_in(std::move(root), std::to_string(pid), "/");
}

Result<ContainerView> ContainerView::open_directory(const std::string &rootfs)
{
    UniqueFd namespace_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!namespace_root)
        return system_error("open", "/");
    return open_in(std::move(namespace_root), "self", rootfs);
}

Result<ContainerView> ContainerView::open_in(UniqueFd namespace_root,
                                             const std::string &mountinfo_pid,
                                             const std::string &rootfs)
{
    if (rootfs.empty() || rootfs[0] != '/')
        return logic_error("open rootfs", rootfs, "the rootfs path must be absolute");
    ContainerView view;
    view.namespace_root_ = std::move(namespace_root);
    // The bundle's own path is the runtime's, trusted; only magic links are refused.
    view.rootfs_.reset(openat2_fd(view.namespace_root_.get(), relative(rootfs),
                                  O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_MAGICLINKS));
    if (!view.rootfs_)
        return system_error("open rootfs", rootfs);
    auto path = real_path(view.rootfs_.get());
    if (!path)
        return path.error();
    view.rootfs_path_ = *path;
    auto mounts = read_mountinfo(mountinfo_pid);
    if (!mounts)
        return mounts.error();
    view.mounts_ = std::move(*mounts);
    return view;
}

Result<UniqueFd> ContainerView::open_path(const std::string &path) const
{
    UniqueFd fd(openat2_fd(rootfs_.get(), relative(path), O_PATH | O_CLOEXEC,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    if (!fd)
        return system_error("resolve in container", path);
    return fd;
}

Result<ObjectKey> ContainerView::key(const std::string &path) const
{
    auto fd = open_path(path);
    if (!fd)
        return fd.error();
    return object_key(fd->get(), mounts_);
}

Result<ObjectKey> ContainerView::host_key(const std::string &host_path) const
{
    UniqueFd fd(openat2_fd(namespace_root_.get(), relative(host_path), O_PATH | O_CLOEXEC,
                           RESOLVE_NO_MAGICLINKS));
    if (!fd)
        return system_error("open", host_path);
    return object_key(fd.get(), mounts_);
}

const MountEntry *ContainerView::rootfs_mount() const
{
    // The last mount listed at the rootfs's path is the one on top.
    const MountEntry *top = nullptr;
    for (const MountEntry &m : mounts_) {
        if (m.mount_point == rootfs_path_)
            top = &m;
    }
    return top;
}

std::vector<ViewMount> ContainerView::mounts() const
{
    std::vector<ViewMount> view;
    for (const MountEntry &m : mounts_) {
        if (!is_below(m.mount_point, rootfs_path_))
            continue;
        std::string inside = m.mount_point.substr(rootfs_path_ == "/" ? 0 : rootfs_path_.size());
        view.push_back({inside.empty() ? "/" : inside, &m});
    }
    std::stable_sort(view.begin(), view.end(), [](const ViewMount &a, const ViewMount &b) {
        return std::count(a.path.begin(), a.path.end(), '/') <
               std::count(b.path.begin(), b.path.end(), '/');
    });
    return view;
}

} // namespace cgfence
