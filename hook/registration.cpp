#include "registration.hpp"

#include <cerrno>
#include <filesystem>
#include <sys/stat.h>

#include "log.hpp"
#include "policy.hpp"
#include "records.hpp"

namespace cgfence {
namespace {

// Who holds `cgroup_id`'s policy, for the message (the error path only).
std::string holder_of(const PinnedMaps &maps, uint64_t cgroup_id)
{
    if (auto records = all_records(maps)) {
        for (const auto &r : *records)
            if (r.value.cgroup == cgroup_id)
                return std::string("container ") + r.value.id;
    }
    return "a container without a record";
}

// Refuses when the cgroup directory `dir` holds a policy: `relation` says how
// it stands to the new container's cgroup, `consequence` what registering would
// do. A directory that vanished while we looked holds nothing.
Status refuse_if_registered(const PinnedMaps &maps, const std::string &id, const std::string &dir,
                            const std::string &relation, const std::string &consequence)
{
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) {
        if (errno == ENOENT)
            return {};
        return system_error("stat cgroup", dir);
    }
    auto taken = has_policy(maps, info.st_ino);
    if (!taken)
        return taken.error();
    if (*taken)
        return logic_error("register container", id,
                           relation + dir + ", registered for " + holder_of(maps, info.st_ino) +
                               ", " + consequence);
    return {};
}

// The cgroups below `cgroup` (the container's own, at prestart usually
// none) must hold no policy: the outermost registered cgroup decides for
// everything below it, so registering this one would take another container's
// confinement over.
Status check_descendants(const PinnedMaps &maps, const std::string &id,
                         const ContainerCgroup &cgroup)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::recursive_directory_iterator it(cgroup.path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const bool directory = it->is_directory(ec);
        if (ec)
            break;
        if (!directory)
            continue;
        if (auto s = refuse_if_registered(maps, id, it->path().string(),
                                          "its cgroup " + cgroup.path + " contains ",
                                          "whose confinement this policy would take over");
            !s)
            return s;
    }
    if (ec && ec.value() != ENOENT)
        return system_error("list cgroups below", cgroup.path, ec.value());
    return {};
}

} // namespace

Status check_registration(const PinnedMaps &maps, const std::string &id, const std::string &bundle,
                          const ContainerCgroup &cgroup)
{
    auto existing = find_record(maps, id, bundle);
    if (!existing)
        return existing.error();
    bool same_container = false;
    if (*existing) {
        const uint64_t old_cgroup = (*existing)->value.cgroup;
        same_container = old_cgroup == cgroup.id;
        if (!same_container) {
            auto alive = cgroup_exists(old_cgroup);
            if (!alive)
                return alive.error();
            if (*alive)
                return logic_error("register container", id,
                                   "already registered with cgroup " + std::to_string(old_cgroup) +
                                       ", which still exists: two containers with one id and "
                                       "bundle? Stop the other first");
            if (auto removed = withdraw_policy(maps, old_cgroup); !removed)
                return removed.error();
            if (auto s = delete_record(maps, (*existing)->key); !s)
                return s;
            log::info("container " + id + ": removed its stale registration (cgroup " +
                      std::to_string(old_cgroup) + " is gone)");
        }
    }
    if (!same_container) {
        auto taken = has_policy(maps, cgroup.id);
        if (!taken)
            return taken.error();
        if (*taken)
            return logic_error("register container", id,
                               "its cgroup " + cgroup.path + " already holds the policy of " +
                                   holder_of(maps, cgroup.id) +
                                   ": containers must not share a cgroup");
    }
    // Ancestors, up to (not including) the cgroup2 root.
    namespace fs = std::filesystem;
    fs::path dir = fs::path(cgroup.path).parent_path();
    for (int level = cgroup.level - 1; level >= 1; --level, dir = dir.parent_path()) {
        if (auto s = refuse_if_registered(maps, id, dir.string(),
                                          "its cgroup " + cgroup.path + " is inside ",
                                          "whose policy would decide for it");
            !s)
            return s;
    }
    return check_descendants(maps, id, cgroup);
}

} // namespace cgfence
