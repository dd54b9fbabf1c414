#include "inode_index.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <vector>

#include "kernel_dev.hpp"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

namespace cgfence {
namespace {

// Directory levels below a mount's root that are walked; deeper trees are
// cut there (their objects stay unnamed, and `profile learn` says so).
constexpr int kMaxLevels = 64;
// Objects indexed in all: a bound on the memory and time one run takes.
constexpr size_t kMaxObjects = 4000000;

constexpr unsigned kStatxWanted = STATX_INO | STATX_TYPE | STATX_MNT_ID;

std::string child_path(const std::string &dir, const std::string &name)
{
    return dir == "/" ? "/" + name : dir + "/" + name;
}

} // namespace

void InodeIndex::add(uint32_t dev, uint64_t ino, const std::string &path, bool is_dir)
{
    objects_.try_emplace({dev, ino}, IndexedObject{path, is_dir}); // the first path found
}

Status InodeIndex::walk(int dir, const std::string &path, uint64_t mount_id, uint32_t dev,
                        int levels)
{
    UniqueFd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing)
        return system_error("open directory in container", path);
    DIR *stream = ::fdopendir(listing.get());
    if (!stream)
        return system_error("list directory in container", path);
    (void)listing.release(); // closedir closes it
    std::vector<std::string> subdirs;
    size_t count = 0;
    while (const dirent *entry = ::readdir(stream)) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        count++;
        struct statx info {};
        if (::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW, kStatxWanted, &info) != 0)
            continue; // removed meanwhile
        if (info.stx_mnt_id != mount_id)
            continue; // a mount point: that mount is walked on its own
        const bool is_dir = S_ISDIR(info.stx_mode);
        add(dev, info.stx_ino, child_path(path, name), is_dir);
        if (is_dir)
            subdirs.push_back(name);
    }
    ::closedir(stream);
    entries_[path] = count;
    if (levels == 0 || objects_.size() >= kMaxObjects) {
        cut_ = cut_ || !subdirs.empty();
        return {};
    }
    for (const std::string &name : subdirs) {
        UniqueFd child(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child)
            continue;
        if (auto s = walk(child.get(), child_path(path, name), mount_id, dev, levels - 1); !s)
            return s;
    }
    return {};
}

Result<InodeIndex> InodeIndex::build(const ContainerView &view, const std::set<uint32_t> &devs)
{
    InodeIndex index;
    for (const ViewMount &mount : view.mounts()) {
        const uint32_t dev = kernel_dev(mount.entry->major_number, mount.entry->minor_number);
        if (!devs.contains(dev))
            continue;
        auto root = view.open_path(mount.path);
        if (!root)
            continue; // hidden by a later mount
        struct statx info {};
        if (::statx(root->get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, kStatxWanted, &info) != 0)
            return system_error("statx in container", mount.path);
        if (info.stx_mnt_id != mount.entry->mount_id)
            continue; // another mount is stacked on this one
        const bool is_dir = S_ISDIR(info.stx_mode);
        index.add(dev, info.stx_ino, mount.path, is_dir);
        if (is_dir) {
            if (auto s =
                    index.walk(root->get(), mount.path, mount.entry->mount_id, dev, kMaxLevels);
                !s)
                return s.error();
        }
    }
    return index;
}

const IndexedObject *InodeIndex::find(uint32_t dev, uint64_t ino) const
{
    auto it = objects_.find({dev, ino});
    return it == objects_.end() ? nullptr : &it->second;
}

} // namespace cgfence
