#include "container_cgroup.hpp"

#include <algorithm>
#include <fstream>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

#include "abi.hpp"
#include "mountinfo.hpp"
#include "unique_fd.hpp"

namespace cgfence {

Result<std::string> cgroup2_mount_point()
{
    auto mounts = read_mountinfo();
    if (!mounts)
        return mounts.error();
    auto cgroup2 = std::find_if(mounts->begin(), mounts->end(),
                                [](const MountEntry &m) { return m.fstype == "cgroup2"; });
    if (cgroup2 == mounts->end())
        return logic_error("find cgroup2 mount", "/proc/self/mountinfo",
                           "cgroup v2 is not mounted");
    return cgroup2->mount_point;
}

Result<std::string> unified_cgroup_path(const std::string &pid)
{
    const std::string file = "/proc/" + pid + "/cgroup";
    std::ifstream in(file);
    if (!in)
        return system_error("open", file);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("0::", 0) == 0)
            return line.substr(3);
    }
    return logic_error("find the cgroup v2 path in", file,
                       "the process is in no cgroup v2 group; cgfence needs cgroup v2");
}

Result<ContainerCgroup> container_cgroup(pid_t pid)
{
    const std::string pid_text = std::to_string(pid);
    auto path = unified_cgroup_path(pid_text);
    if (!path)
        return path.error();
    auto own = unified_cgroup_path("self");
    if (!own)
        return own.error();
    if (*path == "/")
        return logic_error("confine container", "pid " + pid_text,
                           "it runs in the root cgroup; give the runtime a cgroup per container "
                           "(runc/crun do by default; check --cgroup-manager and cgroupsPath)");
    if (*path == *own)
        return logic_error("confine container", "pid " + pid_text,
                           "it shares the runtime's cgroup " + *path +
                               ": confining it would confine the runtime too; give it a cgroup "
                               "of its own");
    auto cgroup2 = cgroup2_mount_point();
    if (!cgroup2)
        return cgroup2.error();
    ContainerCgroup cgroup;
    cgroup.path = *cgroup2 + *path;
    cgroup.level = static_cast<int>(std::count(path->begin(), path->end(), '/'));
    if (cgroup.level > CGFENCE_MAX_CGROUP_LEVEL)
        return logic_error("confine container", cgroup.path,
                           "cgroup level " + std::to_string(cgroup.level) + " is deeper than " +
                               std::to_string(CGFENCE_MAX_CGROUP_LEVEL) +
                               ", the deepest level cgfence's program checks");
    struct stat info {};
    if (::stat(cgroup.path.c_str(), &info) != 0)
        return system_error("stat cgroup", cgroup.path);
    cgroup.id = info.st_ino;
    return cgroup;
}

Result<UniqueFd> open_cgroup(uint64_t id)
{
    auto cgroup2 = cgroup2_mount_point();
    if (!cgroup2)
        return cgroup2.error();
    UniqueFd mount(::open(cgroup2->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!mount)
        return system_error("open", *cgroup2);
    constexpr int kKernfsHandleType = 0xfe; // FILEID_KERNFS
    alignas(file_handle) unsigned char storage[sizeof(file_handle) + sizeof(id)] = {};
    auto *handle = reinterpret_cast<file_handle *>(storage);
    handle->handle_bytes = sizeof(id);
    handle->handle_type = kKernfsHandleType;
    std::memcpy(storage + sizeof(file_handle), &id, sizeof(id));
    UniqueFd cgroup(::open_by_handle_at(mount.get(), handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup)
        return system_error("open cgroup by id", std::to_string(id));
    return cgroup;
}

Result<bool> cgroup_exists(uint64_t id)
{
    auto cgroup = open_cgroup(id);
    if (cgroup)
        return true;
    if (cgroup.error().errnum == ESTALE || cgroup.error().errnum == ENOENT)
        return false;
    return cgroup.error();
}

} // namespace cgfence
