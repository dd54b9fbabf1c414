#include "policy.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <algorithm>
#include <string>

#include "learned.hpp"
#include "unique_fd.hpp"

namespace cgfence {

PolicyBuilder::PolicyBuilder(uint8_t mode, uint8_t default_access)
{
    policy_.settings.mode = mode;
    policy_.settings.default_access = default_access;
    policy_.settings.events_per_sec = 100;
    policy_.settings.events_burst = 200;
}

uint64_t rule_path_id(const std::string &path)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char c : path) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash != 0 ? hash : 1;
}

PolicyBuilder &PolicyBuilder::inode_rule(uint32_t dev, uint64_t ino, uint8_t access, bool recursive,
                                         uint64_t path_id)
{
    PolicyRule rule{static_cast<uint8_t>(access & CGFENCE_ACCESS_ALL),
                    static_cast<uint8_t>(recursive ? 0 : CGFENCE_RULE_NONRECURSIVE), path_id};
    auto [it, inserted] = policy_.rules.try_emplace(PolicyKey{CGFENCE_KEY_INODE, dev, ino}, rule);
    if (!inserted) {
        it->second.access &= rule.access;
        it->second.flags &= rule.flags; // recursive if either is
    }
    return *this;
}

PolicyBuilder &PolicyBuilder::fstype_rule(uint64_t magic, uint8_t access)
{
    PolicyRule rule{static_cast<uint8_t>(access & CGFENCE_ACCESS_ALL), 0};
    auto [it, inserted] = policy_.rules.try_emplace(PolicyKey{CGFENCE_KEY_FSTYPE, 0, magic}, rule);
    if (!inserted)
        it->second.access &= rule.access;
    policy_.settings.flags |= CGFENCE_SETTINGS_HAS_FSTYPE_RULES;
    return *this;
}

PolicyBuilder &PolicyBuilder::mount_root(uint32_t dev, uint64_t ino, const PolicyRule *enclosing)
{
    PolicyRule rule =
        enclosing ? PolicyRule{enclosing->access, 0} : PolicyRule{0, CGFENCE_RULE_MOUNT_BOUNDARY};
    PolicyKey key{CGFENCE_KEY_INODE, dev, ino};
    auto [it, inserted] = mount_roots_.try_emplace(key, rule);
    if (!inserted && (it->second.access != rule.access || it->second.flags != rule.flags)) {
        // One filesystem root mounted at two places with different rules
        // around them: the intersection (a boundary stands for the default).
        auto rights = [this](const PolicyRule &r) {
            return (r.flags & CGFENCE_RULE_MOUNT_BOUNDARY) ? policy_.settings.default_access
                                                           : r.access;
        };
        it->second = PolicyRule{static_cast<uint8_t>(rights(it->second) & rights(rule)), 0};
    }
    return *this;
}

PolicyBuilder &PolicyBuilder::overlay_layer(uint32_t dev, uint64_t ino, uint32_t overlay_dev)
{
    policy_.rules[PolicyKey{CGFENCE_KEY_INODE, dev, ino}] =
        PolicyRule{0, CGFENCE_RULE_OVERLAY_LAYER, 0, overlay_dev};
    return *this;
}

PolicyBuilder &PolicyBuilder::rule_holder(uint32_t dev, uint64_t ino)
{
    policy_.rule_holders.insert(PolicyKey{CGFENCE_KEY_RULE_HOLDER, dev, ino});
    return *this;
}

PolicyBuilder &PolicyBuilder::event_rate(uint32_t per_second, uint32_t burst)
{
    // Bounded so the program's token arithmetic cannot overflow 64 bits.
    policy_.settings.events_per_sec = std::min<uint32_t>(per_second, kMaxEventsPerSecond);
    policy_.settings.events_burst = std::min<uint32_t>(burst, kMaxEventsPerSecond);
    return *this;
}

ContainerPolicy PolicyBuilder::build() const
{
    ContainerPolicy policy = policy_;
    for (const auto &[key, rule] : mount_roots_)
        policy.rules.try_emplace(key, rule); // a path rule on the mount root wins
    uint8_t deep = policy.settings.default_access;
    for (const auto &[key, rule] : policy.rules) {
        if (!(rule.flags & (CGFENCE_RULE_MOUNT_BOUNDARY | CGFENCE_RULE_OVERLAY_LAYER)))
            deep &= rule.access;
    }
    policy.settings.deep_access = deep;
    return policy;
}

namespace {

cgfence_policy_key to_abi(const PolicyKey &key)
{
    return {key.kind, key.dev, key.ino};
}

Result<UniqueFd> create_inner_map(const ContainerPolicy &policy)
{
    // One entry per rule plus the settings; sized exactly, so filling it
    // cannot fail for lack of room.
    const size_t entries = policy.rules.size() + policy.rule_holders.size() + 1;
    if (entries > CGFENCE_MAX_RULES_PER_CONTAINER)
        return logic_error("build policy", "",
                           std::to_string(policy.rules.size()) + " rules and " +
                               std::to_string(policy.rule_holders.size()) +
                               " directories holding them; at most " +
                               std::to_string(CGFENCE_MAX_RULES_PER_CONTAINER - 1) + " in all");
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "cgfence_policy", sizeof(cgfence_policy_key),
                            sizeof(cgfence_policy_value), static_cast<uint32_t>(entries), nullptr);
    if (fd < 0)
        return system_error("create policy map", "(" + std::to_string(entries) + " entries)");
    UniqueFd map(fd);
    cgfence_policy_key settings_key{CGFENCE_KEY_SETTINGS, 0, 0};
    cgfence_policy_value value{};
    value.settings = policy.settings;
    if (bpf_map_update_elem(map.get(), &settings_key, &value, BPF_NOEXIST) != 0)
        return system_error("write policy settings", "");
    for (const auto &[key, rule] : policy.rules) {
        cgfence_policy_key k = to_abi(key);
        cgfence_policy_value v{};
        v.rule.access = rule.access;
        v.rule.flags = rule.flags;
        v.rule.path_id = rule.path_id;
        v.rule.overlay_dev = rule.overlay_dev;
        if (bpf_map_update_elem(map.get(), &k, &v, BPF_NOEXIST) != 0)
            return system_error("write policy rule", "");
    }
    for (const PolicyKey &key : policy.rule_holders) {
        cgfence_policy_key k = to_abi(key);
        cgfence_policy_value v{};
        if (bpf_map_update_elem(map.get(), &k, &v, BPF_NOEXIST) != 0)
            return system_error("write policy rule holder", "");
    }
    return map;
}

} // namespace

Status ensure_container_entries(int counters_fd, int containers_fd, uint64_t cgroup_id,
                                uint64_t view_mnt_ns)
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0)
        return system_error("count possible CPUs", "", -cpus);
    std::vector<cgfence_counters> zero_counters(static_cast<size_t>(cpus));
    if (bpf_map_update_elem(counters_fd, &cgroup_id, zero_counters.data(), BPF_NOEXIST) != 0 &&
        errno != EEXIST)
        return Error{"add container to", "counters map", errno,
                     errno == E2BIG ? "the map is full: run `cgfencectl gc`" : ""};
    cgfence_container_state state{}; // its bucket is filled at the first event
    state.view_mnt_ns = view_mnt_ns;
    if (bpf_map_update_elem(containers_fd, &cgroup_id, &state, BPF_NOEXIST) != 0 && errno != EEXIST)
        return Error{"add container to", "containers map", errno,
                     errno == E2BIG ? "the map is full: run `cgfencectl gc`" : ""};
    return {};
}

Status publish_policy(const PinnedMaps &maps, uint64_t cgroup_id, const ContainerPolicy &policy,
                      Publish how)
{
    auto inner = create_inner_map(policy);
    if (!inner)
        return inner.error();
    // A replaced policy's container has them since its set-up; creating them
    // for one torn down meanwhile would leave them behind.
    if (how == Publish::create_or_replace) {
        if (auto status = ensure_container_entries(maps.counters.get(), maps.containers.get(),
                                                   cgroup_id, policy.view_mnt_ns);
            !status)
            return status;
    }
    int inner_fd = inner->get();
    // The one step: from here on the kernel sees the whole policy.
    const uint64_t flags = how == Publish::replace_only ? BPF_EXIST : BPF_ANY;
    if (bpf_map_update_elem(maps.policies.get(), &cgroup_id, &inner_fd, flags) != 0) {
        int err = errno;
        return Error{"publish policy of cgroup", std::to_string(cgroup_id), err,
                     err == ENOENT ? "the container is no longer registered"
                     : err == E2BIG
                         ? "the policies map is full (" + std::to_string(CGFENCE_MAX_CONTAINERS) +
                               " containers): run `cgfencectl gc`"
                         : ""};
    }
    return {};
}

Result<bool> withdraw_policy(const PinnedMaps &maps, uint64_t cgroup_id)
{
    bool existed = true;
    // The policy first: from then on its tasks still alive (outside its
    // cgroup) are orphans, denied everything, and no new task arms.
    if (bpf_map_delete_elem(maps.policies.get(), &cgroup_id) != 0) {
        if (errno != ENOENT)
            return system_error("remove policy of cgroup", std::to_string(cgroup_id));
        existed = false;
    }
    // The rate limiter holds the count of what learn mode remembered; without
    // it the program adds nothing more, so it goes before the scan of the
    // learned map (done only for a container that has entries there).
    cgfence_container_state limiter{};
    const bool learned = bpf_map_lookup_elem(maps.containers.get(), &cgroup_id, &limiter) == 0 &&
                         limiter.learned > 0;
    for (int fd : {maps.counters.get(), maps.containers.get()}) {
        if (bpf_map_delete_elem(fd, &cgroup_id) != 0 && errno != ENOENT)
            return system_error("remove counters of cgroup", std::to_string(cgroup_id));
    }
    if (learned) {
        if (auto forgotten = forget_learned(maps, cgroup_id); !forgotten)
            return forgotten.error();
    }
    return existed;
}

Result<std::vector<uint64_t>> registered_cgroups(const PinnedMaps &maps)
{
    return map_u64_keys(maps.policies.get());
}

Result<bool> has_policy(const PinnedMaps &maps, uint64_t cgroup_id)
{
    uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(maps.policies.get(), &cgroup_id, &inner_id) == 0)
        return true;
    if (errno == ENOENT)
        return false;
    return system_error("look up policy of cgroup", std::to_string(cgroup_id));
}

Result<ContainerPolicy> read_policy(const PinnedMaps &maps, uint64_t cgroup_id)
{
    uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(maps.policies.get(), &cgroup_id, &inner_id) != 0)
        return system_error("look up policy of cgroup", std::to_string(cgroup_id));
    UniqueFd inner(bpf_map_get_fd_by_id(inner_id));
    if (!inner)
        return system_error("open policy map", "id " + std::to_string(inner_id));
    ContainerPolicy policy;
    cgfence_policy_key key{};
    cgfence_policy_key next{};
    const cgfence_policy_key *previous = nullptr;
    while (bpf_map_get_next_key(inner.get(), previous, &next) == 0) {
        cgfence_policy_value value{};
        if (bpf_map_lookup_elem(inner.get(), &next, &value) == 0) {
            if (next.kind == CGFENCE_KEY_SETTINGS)
                policy.settings = value.settings;
            else if (next.kind == CGFENCE_KEY_RULE_HOLDER)
                policy.rule_holders.insert(PolicyKey{next.kind, next.dev, next.ino});
            else
                policy.rules[PolicyKey{next.kind, next.dev, next.ino}] =
                    PolicyRule{value.rule.access, value.rule.flags, value.rule.path_id,
                               value.rule.overlay_dev};
        }
        key = next;
        previous = &key;
    }
    if (errno != ENOENT)
        return system_error("iterate policy map", "id " + std::to_string(inner_id));
    return policy;
}

Result<cgfence_container_state> read_container_state(const PinnedMaps &maps, uint64_t cgroup_id)
{
    cgfence_container_state state{};
    if (bpf_map_lookup_elem(maps.containers.get(), &cgroup_id, &state) != 0)
        return system_error("read state of cgroup", std::to_string(cgroup_id));
    return state;
}

Result<cgfence_counters> read_counters(const PinnedMaps &maps, uint64_t cgroup_id)
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0)
        return system_error("count possible CPUs", "", -cpus);
    std::vector<cgfence_counters> per_cpu(static_cast<size_t>(cpus));
    if (bpf_map_lookup_elem(maps.counters.get(), &cgroup_id, per_cpu.data()) != 0)
        return system_error("read counters of cgroup", std::to_string(cgroup_id));
    cgfence_counters total{};
    for (const auto &c : per_cpu) {
        total.decisions += c.decisions;
        total.denied += c.denied;
        total.audited += c.audited;
        total.events_sent += c.events_sent;
        total.events_dropped += c.events_dropped;
        total.learn_dropped += c.learn_dropped;
    }
    return total;
}

} // namespace cgfence
