#include "container_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "abi.hpp"
#include "container_cgroup.hpp"

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

// A held process of the cgroup `dir` or below, depth first, at most
// `levels` levels down (the program's own bound on cgroup depth).
Result<std::optional<HeldProcess>> find_in(int dir, int levels)
{
    auto pids = cgroup_pids(dir);
    if (!pids)
        return pids.error();
    for (pid_t pid : *pids) {
        auto held = HeldProcess::open(pid);
        if (held && listed(dir, pid))
            return std::optional<HeldProcess>(std::move(*held));
    }
    if (levels == 0)
        return std::optional<HeldProcess>();
    UniqueFd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing)
        return system_error("open", "cgroup directory");
    DIR *entries = ::fdopendir(listing.get());
    if (!entries)
        return system_error("list", "cgroup directory");
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
            continue; // removed meanwhile
        auto found = find_in(child.get(), levels - 1);
        if (!found || *found)
            return found;
    }
    return std::optional<HeldProcess>();
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

Result<HeldProcess> container_process(uint64_t cgroup_id)
{
    auto cgroup = open_cgroup(cgroup_id);
    if (!cgroup)
        return cgroup.error();
    auto found = find_in(cgroup->get(), CGFENCE_MAX_CGROUP_LEVEL);
    if (!found)
        return found.error();
    if (!*found)
        return logic_error("find a process of cgroup", std::to_string(cgroup_id),
                           "it has none: the container is not running");
    return std::move(**found);
}

} // namespace cgfence
