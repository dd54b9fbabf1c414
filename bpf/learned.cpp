#include "learned.hpp"

#include <bpf/bpf.h>
#include <cerrno>
#include <set>
#include <string>
#include <tuple>

#include "policy.hpp"

namespace cgfence {
namespace {

struct KeyOrder {
    bool operator()(const cgfence_learned_key &a, const cgfence_learned_key &b) const
    {
        return std::tie(a.container, a.dev, a.ino, a.wanted) <
               std::tie(b.container, b.dev, b.ino, b.wanted);
    }
};
using KeySet = std::set<cgfence_learned_key, KeyOrder>;

// Every key of the map, once. A key deleted while the walk stands on it (a
// teardown, gc) makes the kernel restart from the first key: keys are
// deduplicated, and a walk that keeps restarting is an error, never a
// silently short list.
Result<KeySet> all_keys(int map_fd)
{
    KeySet keys;
    cgfence_learned_key key{};
    cgfence_learned_key next{};
    const cgfence_learned_key *previous = nullptr;
    for (size_t steps = 0; steps < 4 * size_t{CGFENCE_MAX_LEARNED}; steps++) {
        if (bpf_map_get_next_key(map_fd, previous, &next) != 0) {
            if (errno != ENOENT)
                return system_error("iterate", "learned map");
            return keys;
        }
        keys.insert(next);
        key = next;
        previous = &key;
    }
    return logic_error("iterate", "learned map",
                       "it kept changing while it was read (containers stopping?); try again");
}

} // namespace

Result<std::vector<LearnedAccess>> learned_accesses(const PinnedMaps &maps, uint64_t cgroup_id)
{
    auto keys = all_keys(maps.learned.get());
    if (!keys)
        return keys.error();
    std::vector<LearnedAccess> out;
    for (const cgfence_learned_key &key : *keys) {
        if (key.container != cgroup_id)
            continue;
        LearnedAccess access{key.dev, key.ino, key.wanted, {}};
        if (bpf_map_lookup_elem(maps.learned.get(), &key, &access.detail) != 0) {
            if (errno == ENOENT)
                continue; // removed meanwhile (poststop, gc)
            return system_error("read", "learned map");
        }
        out.push_back(access);
    }
    return out;
}

Result<size_t> forget_learned(const PinnedMaps &maps, uint64_t cgroup_id)
{
    auto keys = all_keys(maps.learned.get());
    if (!keys)
        return keys.error();
    size_t removed = 0;
    for (const cgfence_learned_key &key : *keys) {
        if (key.container != cgroup_id)
            continue;
        if (bpf_map_delete_elem(maps.learned.get(), &key) == 0)
            removed++;
        else if (errno != ENOENT)
            return system_error("remove learned access of cgroup", std::to_string(cgroup_id));
    }
    return removed;
}

Result<size_t> forget_unregistered_learned(const PinnedMaps &maps)
{
    auto keys = all_keys(maps.learned.get());
    if (!keys)
        return keys.error();
    std::set<uint64_t> orphans;
    for (const cgfence_learned_key &key : *keys)
        orphans.insert(key.container);
    size_t removed = 0;
    for (uint64_t cgroup : orphans) {
        auto registered = has_policy(maps, cgroup);
        if (!registered)
            return registered.error();
        if (*registered)
            continue;
        auto forgotten = forget_learned(maps, cgroup);
        if (!forgotten)
            return forgotten.error();
        removed += *forgotten;
    }
    return removed;
}

} // namespace cgfence
