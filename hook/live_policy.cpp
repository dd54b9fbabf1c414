#include "live_policy.hpp"

#include <map>

#include "container_process.hpp"
#include "container_view.hpp"
#include "policy.hpp"
#include "policy_compiler.hpp"

namespace cgfence {
namespace {

std::vector<PolicyKey> overlay_layer_keys(const ContainerPolicy &policy)
{
    std::vector<PolicyKey> layers;
    for (const auto &[key, rule] : policy.rules) {
        if (rule.flags & CGFENCE_RULE_OVERLAY_LAYER)
            layers.push_back(key);
    }
    return layers;
}

// An object a rule named when the policy was published may have left that
// path since (renamed, or covered by a mount), the kernel letting the rule go
// with it. Resolving the path anew finds another object, or none; the one the
// rule named keeps the rule (the stricter of old and new) for as long as the
// profile has that path, so no object gains a right by an `apply`. Returns the
// paths whose rule was kept.
std::vector<std::string> keep_moved_rules(const ContainerPolicy &current, const Profile &profile,
                                          ContainerPolicy &next)
{
    std::map<uint64_t, const ProfileRule *> by_path;
    for (const ProfileRule &rule : profile.rules) {
        if (rule.fs.empty())
            by_path.emplace(rule_path_id(rule.path), &rule);
    }
    std::vector<std::string> kept;
    for (const auto &[key, old] : current.rules) {
        const bool path_rule = key.kind == CGFENCE_KEY_INODE && old.path_id != 0 &&
                               !(old.flags & ~CGFENCE_RULE_NONRECURSIVE);
        const auto named = by_path.find(old.path_id);
        if (!path_rule || named == by_path.end() || next.rules.contains(key))
            continue;
        const ProfileRule &rule = *named->second;
        const uint8_t flags = rule.recursive ? 0 : (old.flags & CGFENCE_RULE_NONRECURSIVE);
        const PolicyRule keep{static_cast<uint8_t>(old.access & rule.access), flags, old.path_id};
        next.rules.emplace(key, keep);
        next.settings.deep_access &= keep.access;
        kept.push_back(rule.path);
    }
    return kept;
}

// The container's profile compiled in its view as it is now.
Result<CompiledPolicy> recompile(const ContainerRecord &record, const ContainerPolicy &current,
                                 const Profile &profile, uint8_t mode)
{
    auto process = container_process(record.value.cgroup, recorded_view(record.value));
    if (!process)
        return process.error();
    auto view = ContainerView::open_running(process->process.pid(), std::move(process->root));
    if (!view)
        return view.error();
    CompileOptions options;
    options.mode = mode == CGFENCE_MODE_AUDIT   ? ProfileMode::audit
                   : mode == CGFENCE_MODE_LEARN ? ProfileMode::learn
                                                : ProfileMode::enforce;
    options.events_per_sec = current.settings.events_per_sec;
    options.events_burst = current.settings.events_burst;
    options.overlay_layers = overlay_layer_keys(current);
    auto compiled = compile_policy(profile, *view, options);
    if (!compiled)
        return compiled.error();
    // What was read through /proc/<pid> was the container's only if it lived.
    if (!process->process.alive())
        return logic_error("resolve profile " + profile.name + " in container", record.value.id,
                           "its process exited meanwhile; try again");
    return compiled;
}

} // namespace

Result<LiveChangeResult> change_live_policy(const PinnedMaps &maps, const ContainerRecord &record,
                                            const LiveChange &change)
{
    const uint64_t cgroup = record.value.cgroup;
    auto current = read_policy(maps, cgroup);
    if (!current && current.error().errnum == ENOENT)
        return logic_error("change policy of container", record.value.id,
                           "it is no longer registered (stopped, or its teardown was "
                           "interrupted: `cgfencectl gc`)");
    if (!current)
        return current.error();
    const uint8_t mode = change.mode ? kernel_mode(*change.mode) : current->settings.mode;

    LiveChangeResult result{record.value, {}, {}};
    ContainerPolicy next = *current;
    if (change.profile) {
        auto compiled = recompile(record, *current, *change.profile, mode);
        if (!compiled)
            return compiled.error();
        next = compiled->policy;
        result.skipped = compiled->skipped;
        result.kept = keep_moved_rules(*current, *change.profile, next);
        if (auto s = fill_record_names(result.record, record.value.id, record.value.bundle,
                                       change.profile->name);
            !s)
            return s.error();
    }
    next.settings.mode = mode;
    if (auto s = publish_policy(maps, cgroup, next, Publish::replace_only); !s)
        return s.error();

    result.record.mode = mode;
    result.record.rule_count = static_cast<uint32_t>(next.rules.size());
    result.record.updated_ns = realtime_ns();
    if (auto s = replace_record(maps, record.key, result.record); !s)
        return s.error();
    return result;
}

} // namespace cgfence
