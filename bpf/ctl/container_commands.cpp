// cgfencectl ps | show ID | stats | gc: the registered containers, as the
// hook recorded them and the kernel counts them.
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.hpp"
#include "container_cgroup.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "learned.hpp"
#include "log.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "profile.hpp"
#include "records.hpp"
#include "table.hpp"

namespace cgfence::ctl {
namespace {

using nlohmann::ordered_json;

const char *mode_text(uint8_t mode)
{
    switch (mode) {
    case CGFENCE_MODE_AUDIT:
        return "audit";
    case CGFENCE_MODE_LEARN:
        return "learn";
    default:
        return "enforce";
    }
}

std::string iso_time(uint64_t realtime_ns)
{
    const time_t seconds = static_cast<time_t>(realtime_ns / 1000000000ULL);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// A registered container: its record (when the hook left one) and counters.
struct Container {
    std::optional<ContainerRecord> record;
    uint64_t cgroup = 0;
    cgfence_counters counters{};
    bool has_policy = false;
};

Result<std::vector<Container>> containers(const PinnedMaps &maps)
{
    auto records = all_records(maps);
    if (!records)
        return records.error();
    auto policies = registered_cgroups(maps);
    if (!policies)
        return policies.error();
    const std::set<uint64_t> published(policies->begin(), policies->end());
    std::vector<Container> out;
    std::set<uint64_t> seen;
    for (const auto &r : *records) {
        Container c{r, r.value.cgroup, {}, published.contains(r.value.cgroup)};
        if (auto counters = read_counters(maps, c.cgroup))
            c.counters = *counters;
        seen.insert(c.cgroup);
        out.push_back(c);
    }
    for (uint64_t cgroup : published) { // a policy without a record (an interrupted setup)
        if (seen.contains(cgroup))
            continue;
        Container c{std::nullopt, cgroup, {}, true};
        if (auto counters = read_counters(maps, cgroup))
            c.counters = *counters;
        out.push_back(c);
    }
    return out;
}

std::string id_of(const Container &c)
{
    return c.record ? std::string(c.record->value.id) : "(cgroup " + std::to_string(c.cgroup) + ")";
}

ordered_json container_json(const Container &c)
{
    ordered_json out = {{"id", c.record ? ordered_json(c.record->value.id) : ordered_json()},
                        {"cgroup", c.cgroup},
                        {"policy", c.has_policy}};
    if (c.record) {
        const cgfence_record &r = c.record->value;
        out["bundle"] = r.bundle;
        out["profile"] = r.profile;
        out["mode"] = mode_text(r.mode);
        out["rules"] = r.rule_count;
        out["created"] = iso_time(r.created_ns);
        out["updated"] = iso_time(r.updated_ns);
    }
    out["decisions"] = c.counters.decisions;
    out["denied"] = c.counters.denied;
    out["audited"] = c.counters.audited;
    out["events_sent"] = c.counters.events_sent;
    out["events_dropped"] = c.counters.events_dropped;
    out["learn_dropped"] = c.counters.learn_dropped;
    return out;
}

// The pinned maps and every registered container in them.
struct Registry {
    PinnedMaps maps;
    std::vector<Container> containers;
};

// Opens the maps and lists the containers; logs and returns nullopt on failure.
std::optional<Registry> open_registry(const GlobalOptions &global)
{
    auto maps = PinnedMaps::open(PinLayout{global.pin_dir});
    if (!maps) {
        log::error(maps.error().message());
        return std::nullopt;
    }
    auto list = containers(*maps);
    if (!list) {
        log::error(list.error().message());
        return std::nullopt;
    }
    return Registry{std::move(*maps), std::move(*list)};
}

// Rights as "rwx" letters; "none" rather than an empty string.
std::string rights(uint8_t access)
{
    const std::string text = access_text(access);
    return text.empty() ? "none" : text;
}

std::string number(uint64_t value)
{
    return std::to_string(value);
}

int run_ps(const GlobalOptions &global)
{
    auto registry = open_registry(global);
    if (!registry)
        return exit_code::failed;
    if (global.json) {
        ordered_json out = ordered_json::array();
        for (const auto &c : registry->containers)
            out.push_back(container_json(c));
        std::puts(out.dump(2).c_str());
        return exit_code::ok;
    }
    Table table({"CONTAINER", "PROFILE", "MODE", "RULES>", "CGROUP>", "DECISIONS>", "DENIED>",
                 "AUDITED>", "CREATED"});
    for (const auto &c : registry->containers) {
        const cgfence_record *r = c.record ? &c.record->value : nullptr;
        table.add_row({id_of(c), r ? r->profile : "?", r ? mode_text(r->mode) : "?",
                       r ? number(r->rule_count) : "?", number(c.cgroup),
                       number(c.counters.decisions), number(c.counters.denied),
                       number(c.counters.audited), r ? iso_time(r->created_ns) : "-"});
    }
    table.print(stdout);
    return exit_code::ok;
}

int run_show(const GlobalOptions &global, const std::string &id)
{
    auto registry = open_registry(global);
    if (!registry)
        return exit_code::failed;
    const PinnedMaps &maps = registry->maps;
    std::vector<const Container *> found;
    for (const auto &c : registry->containers) {
        if (id_of(c) == id || id == std::to_string(c.cgroup))
            found.push_back(&c);
    }
    if (found.empty()) {
        log::error("no registered container " + id + " (see `cgfencectl ps`)");
        return exit_code::failed;
    }
    ordered_json out = ordered_json::array();
    for (const Container *c : found) {
        ordered_json item = container_json(*c);
        if (auto policy = read_policy(maps, c->cgroup)) {
            item["default"] = rights(policy->settings.default_access);
            item["deep_access"] = rights(policy->settings.deep_access);
            // Has its first task exec'd? (null: the program keeps nothing of it)
            auto state = read_container_state(maps, c->cgroup);
            item["armed"] = state ? ordered_json(state->armed_ns != 0) : ordered_json();
            ordered_json rules = ordered_json::array();
            for (const auto &[key, rule] : policy->rules) {
                ordered_json r = {{"access", rights(rule.access)}};
                if (key.kind == CGFENCE_KEY_FSTYPE) {
                    r["fs_magic"] = key.ino;
                } else {
                    r["dev"] =
                        std::to_string(key.dev >> 20) + ":" + std::to_string(key.dev & 0xfffff);
                    r["ino"] = key.ino;
                    r["recursive"] = !(rule.flags & CGFENCE_RULE_NONRECURSIVE);
                    if (rule.flags & CGFENCE_RULE_MOUNT_BOUNDARY)
                        r["kind"] = "mount-boundary";
                    else if (rule.flags & CGFENCE_RULE_OVERLAY_LAYER)
                        r["kind"] = "overlay-layer";
                }
                rules.push_back(r);
            }
            item["kernel_rules"] = rules;
        }
        out.push_back(item);
    }
    std::puts((found.size() == 1 ? out[0] : out).dump(2).c_str());
    return exit_code::ok;
}

std::string prometheus_labels(const Container &c)
{
    auto escape = [](const std::string &text) {
        std::string out;
        for (char ch : text) {
            if (ch == '\\' || ch == '"')
                out += '\\';
            out += ch == '\n' ? 'n' : ch;
        }
        return out;
    };
    return "{container=\"" + escape(id_of(c)) + "\",profile=\"" +
           escape(c.record ? c.record->value.profile : "") + "\"}";
}

int run_stats(const GlobalOptions &global, const std::string &format)
{
    auto registry = open_registry(global);
    if (!registry)
        return exit_code::failed;
    const std::vector<Container> &list = registry->containers;
    cgfence_counters total{};
    for (const auto &c : list) {
        total.decisions += c.counters.decisions;
        total.denied += c.counters.denied;
        total.audited += c.counters.audited;
        total.events_sent += c.counters.events_sent;
        total.events_dropped += c.counters.events_dropped;
    }
    const double used = static_cast<double>(list.size()) / CGFENCE_MAX_CONTAINERS;
    // Tasks still confined whose container's policy is gone: denied everything.
    auto orphans = read_counters(registry->maps, 0);
    if (!orphans) {
        log::error(orphans.error().message());
        return exit_code::failed;
    }
    const uint64_t orphan_denials = orphans->denied;
    if (format == "prometheus") {
        struct Metric {
            const char *name, *help;
            uint64_t cgfence_counters::*field;
        };
        const Metric metrics[] = {
            {"cgfence_decisions_total", "Access checks made for the container's processes.",
             &cgfence_counters::decisions},
            {"cgfence_denials_total", "Accesses denied (enforce mode).", &cgfence_counters::denied},
            {"cgfence_audits_total", "Accesses a policy would deny, allowed (audit, learn).",
             &cgfence_counters::audited},
            {"cgfence_events_total", "Records sent to the ring buffer.",
             &cgfence_counters::events_sent},
            {"cgfence_events_dropped_total", "Records lost to the rate limit or a full buffer.",
             &cgfence_counters::events_dropped},
            {"cgfence_learn_dropped_total",
             "Learn mode: accesses not remembered (the container's bound was reached).",
             &cgfence_counters::learn_dropped},
        };
        for (const Metric &m : metrics) {
            std::printf("# HELP %s %s\n# TYPE %s counter\n", m.name, m.help, m.name);
            for (const auto &c : list)
                std::printf("%s%s %llu\n", m.name, prometheus_labels(c).c_str(),
                            static_cast<unsigned long long>(c.counters.*m.field));
        }
        std::printf("# HELP cgfence_orphan_denials_total Denials of tasks whose container is "
                    "gone (they are denied everything).\n# TYPE cgfence_orphan_denials_total "
                    "counter\ncgfence_orphan_denials_total %llu\n",
                    static_cast<unsigned long long>(orphan_denials));
        std::printf("# HELP cgfence_containers Registered containers.\n# TYPE cgfence_containers "
                    "gauge\ncgfence_containers %zu\n",
                    list.size());
        std::printf("# HELP cgfence_containers_capacity Containers the maps can hold.\n# TYPE "
                    "cgfence_containers_capacity gauge\ncgfence_containers_capacity %d\n",
                    CGFENCE_MAX_CONTAINERS);
        return exit_code::ok;
    }
    if (global.json) {
        ordered_json per = ordered_json::array();
        for (const auto &c : list)
            per.push_back(container_json(c));
        ordered_json out = {{"containers", list.size()},
                            {"capacity", CGFENCE_MAX_CONTAINERS},
                            {"decisions", total.decisions},
                            {"denied", total.denied},
                            {"audited", total.audited},
                            {"events_sent", total.events_sent},
                            {"events_dropped", total.events_dropped},
                            {"orphan_denied", orphan_denials},
                            {"per_container", per}};
        std::puts(out.dump(2).c_str());
        return exit_code::ok;
    }
    std::printf("containers: %zu of %d (%.1f%%)\n", list.size(), CGFENCE_MAX_CONTAINERS,
                used * 100);
    std::printf("decisions %llu, denied %llu, audited %llu, events %llu sent / %llu dropped\n",
                static_cast<unsigned long long>(total.decisions),
                static_cast<unsigned long long>(total.denied),
                static_cast<unsigned long long>(total.audited),
                static_cast<unsigned long long>(total.events_sent),
                static_cast<unsigned long long>(total.events_dropped));
    if (orphan_denials > 0)
        std::printf("orphans (tasks whose container is gone): %llu denied\n",
                    static_cast<unsigned long long>(orphan_denials));
    if (list.empty())
        return exit_code::ok;
    std::printf("\n");
    Table table(
        {"CONTAINER", "PROFILE", "DECISIONS>", "DENIED>", "AUDITED>", "EVENTS>", "DROPPED>"});
    for (const auto &c : list)
        table.add_row({id_of(c), c.record ? c.record->value.profile : "?",
                       number(c.counters.decisions), number(c.counters.denied),
                       number(c.counters.audited), number(c.counters.events_sent),
                       number(c.counters.events_dropped)});
    table.print(stdout);
    return exit_code::ok;
}

// Removes what belongs to cgroups that are gone (containers killed without
// poststop). A container starting now has a live cgroup: it is never touched.
int run_gc(const GlobalOptions &global)
{
    auto registry = open_registry(global);
    if (!registry)
        return exit_code::failed;
    const PinnedMaps &maps = registry->maps;
    const std::vector<Container> &list = registry->containers;
    ordered_json removed = ordered_json::array();
    for (const auto &c : list) {
        auto alive = cgroup_exists(c.cgroup);
        if (!alive) {
            log::error(alive.error().message());
            return exit_code::failed;
        }
        if (*alive)
            continue;
        if (auto s = withdraw_policy(maps, c.cgroup); !s) {
            log::error(s.error().message());
            return exit_code::failed;
        }
        if (c.record) {
            if (auto s = delete_record(maps, c.record->key); !s) {
                log::error(s.error().message());
                return exit_code::failed;
            }
        }
        removed.push_back({{"id", id_of(c)}, {"cgroup", c.cgroup}});
        if (!global.json)
            std::printf("removed %s (cgroup %llu is gone)\n", id_of(c).c_str(),
                        static_cast<unsigned long long>(c.cgroup));
    }
    auto learned = forget_unregistered_learned(maps);
    if (!learned) {
        log::error(learned.error().message());
        return exit_code::failed;
    }
    if (global.json) {
        std::puts(
            ordered_json{{"removed", removed}, {"learned_removed", *learned}}.dump(2).c_str());
        return exit_code::ok;
    }
    if (*learned > 0)
        std::printf("removed %zu learned accesses of containers no longer registered\n", *learned);
    else if (removed.empty())
        std::printf("nothing to remove: every registered container's cgroup exists\n");
    return exit_code::ok;
}

} // namespace

void add_container_commands(CLI::App &app, const GlobalOptions &global, Action &action)
{
    auto *ps = app.add_subcommand("ps", "List the registered containers");
    ps->footer(
        help_footer("Columns: DENIED counts enforce-mode denials, AUDITED what audit or "
                    "learn mode allowed\nand reported. A CONTAINER shown as (cgroup N) has "
                    "a policy but no record (an\ninterrupted set-up; `gc` removes it once "
                    "the cgroup is gone).\nExamples:\n  cgfencectl ps\n  cgfencectl ps --json"));
    ps->callback([&] { action = [&] { return run_ps(global); }; });

    static std::string show_id;
    auto *show = app.add_subcommand("show", "One container: record, counters, kernel rules (JSON)");
    show->add_option("ID", show_id, "container id (or its cgroup id)")->required();
    show->footer(help_footer("Prints JSON: the hook's record, the counters and the rules as the "
                             "kernel holds them\n(dev major:minor, inode, access).\nExample:\n"
                             "  cgfencectl show web-1"));
    show->callback([&] { action = [&] { return run_show(global, show_id); }; });

    static std::string format = "text";
    auto *stats = app.add_subcommand("stats", "Counters per container and in all");
    stats->add_option("--format", format, "text or prometheus (node_exporter's textfile collector)")
        ->check(CLI::IsMember({"text", "prometheus"}));
    stats->footer(help_footer("Examples:\n  cgfencectl stats\n  cgfencectl stats --json\n"
                              "  cgfencectl stats --format prometheus > "
                              "/var/lib/node_exporter/textfile/cgfence.prom"));
    stats->callback([&] { action = [&] { return run_stats(global, format); }; });

    auto *gc = app.add_subcommand(
        "gc",
        "Remove policies and records of cgroups that are gone (and orphaned learned accesses)");
    gc->footer(help_footer("Safe while containers start: a live cgroup is never touched. The "
                           "package's\ncgfence-gc.timer runs it every 15 minutes.\nExamples:\n"
                           "  cgfencectl gc\n  cgfencectl gc --json"));
    gc->callback([&] { action = [&] { return run_gc(global); }; });
}

} // namespace cgfence::ctl
