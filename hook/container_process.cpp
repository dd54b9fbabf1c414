#include "container_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "abi.hpp"
#include "container_cgroup.hpp"
#include "container_view.hpp"

namespace cgfence {
namespace {

// The pids listed in `cgroup.procs` of the cgroup directory `dir`.
Result<std::vector<pid_t>> cgroup_pids(int dir)
{
    UniqueFd procs(::openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC));
    if (!procs)
        return system_error("open", "cgroup.procs");
    std::string text;
    char buffer[4096];
    ssize_t length = 0;
    while ((length = ::read(procs.get(), buffer, sizeof(buffer))) > 0)
        text.append(buffer, static_cast<size_t>(length));
    if (length < 0)
        return system_error("read", "cgroup.procs");
    std::vector<pid_t> pids;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        if (end > start)
            pids.push_back(static_cast<pid_t>(std::stol(text.substr(start, end - start))));
        start = end + 1;
    }
    return pids;
}

bool listed(int dir, pid_t pid)
{
    auto pids = cgroup_pids(dir);
    if (!pids)
        return false;
    for (pid_t p : *pids) {
        if (p == pid)
            return true;
    }
    return false;
}

uint64_t mount_namespace(pid_t pid)
{
    struct stat info {};
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
    return ::stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
}

// `pid` held, with its root, when it is listed in `dir` and has `view`.
std::optional<ContainerProcess> take(int dir, pid_t pid, const ViewIdentity &view)
{
    auto held = HeldProcess::open(pid);
    if (!held || !listed(dir, pid))
        return std::nullopt;
    const std::string root_path = "/proc/" + std::to_string(pid) + "/root";
    UniqueFd root(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat info {};
    if (!root || ::fstat(root.get(), &info) != 0)
        return std::nullopt;
    if (info.st_dev != view.root_dev || info.st_ino != view.root_ino ||
        mount_namespace(pid) != view.mnt_ns)
        return std::nullopt;
    return ContainerProcess{std::move(*held), std::move(root)};
}

// A process of the cgroup `dir` or below with `view`, depth first, at most
// `levels` levels down (the program's own bound on cgroup depth). A child
// cgroup that cannot be read (removed meanwhile, threaded) is passed over.
std::optional<ContainerProcess> find_in(int dir, int levels, const ViewIdentity &view)
{
    auto pids = cgroup_pids(dir);
    if (pids) {
        for (pid_t pid : *pids) {
            if (auto found = take(dir, pid, view))
                return found;
        }
    }
    if (levels == 0)
        return std::nullopt;
    UniqueFd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *entries = listing ? ::fdopendir(listing.get()) : nullptr;
    if (!entries)
        return std::nullopt;
    (void)listing.release(); // closedir closes it
    std::vector<std::string> children;
    while (const dirent *entry = ::readdir(entries)) {
        const std::string name = entry->d_name;
        if (entry->d_type == DT_DIR && name != "." && name != "..")
            children.push_back(name);
    }
    ::closedir(entries);
    for (const std::string &name : children) {
        UniqueFd child(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!child)
            continue;
        if (auto found = find_in(child.get(), levels - 1, view))
            return found;
    }
    return std::nullopt;
}

} // namespace

Result<HeldProcess> HeldProcess::open(pid_t pid)
{
    HeldProcess held;
    held.pid_ = pid;
    held.fd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!held.fd_)
        return system_error("open process", std::to_string(pid));
    return held;
}

bool HeldProcess::alive() const
{
    return ::syscall(SYS_pidfd_send_signal, fd_.get(), 0, nullptr, 0) == 0;
}

Result<ViewIdentity> view_identity(pid_t pid, const ContainerView &view)
{
    auto root = view.open_path("/");
    if (!root)
        return root.error();
    struct stat info {};
    if (::fstat(root->get(), &info) != 0)
        return system_error("stat", "the container's root");
    const uint64_t mnt_ns = mount_namespace(pid);
    if (mnt_ns == 0)
        return system_error("stat", "/proc/" + std::to_string(pid) + "/ns/mnt");
    return ViewIdentity{mnt_ns, info.st_dev, info.st_ino};
}

ViewIdentity recorded_view(const cgfence_record &record)
{
    return {record.view_mnt_ns, record.view_root_dev, record.view_root_ino};
}

Result<ContainerProcess> container_process(uint64_t cgroup_id, const ViewIdentity &view)
{
    auto cgroup = open_cgroup(cgroup_id);
    if (!cgroup)
        return cgroup.error();
    auto found = find_in(cgroup->get(), CGFENCE_MAX_CGROUP_LEVEL, view);
    if (!found)
        return logic_error("find a process of cgroup", std::to_string(cgroup_id),
                           "none has the container's view (the mount namespace and root it "
                           "started with): it is not running, or its processes left that view");
    return std::move(*found);
}

} // namespace cgfence
