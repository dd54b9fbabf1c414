#include "container_cgroup.hpp"

#include <algorithm>
#include <fstream>
#include <sys/stat.h>

#include "abi.hpp"
#include "mountinfo.hpp"

namespace cgfence {

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
    auto mounts = read_mountinfo();
    if (!mounts)
        return mounts.error();
    auto cgroup2 = std::find_if(mounts->begin(), mounts->end(),
                                [](const MountEntry &m) { return m.fstype == "cgroup2"; });
    if (cgroup2 == mounts->end())
        return logic_error("find cgroup2 mount", "/proc/self/mountinfo",
                           "cgroup v2 is not mounted");
    ContainerCgroup cgroup;
    cgroup.path = cgroup2->mount_point + *path;
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

} // namespace cgfence
