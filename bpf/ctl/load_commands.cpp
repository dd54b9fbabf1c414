// cgfencectl load | unload | status
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "loader.hpp"
#include "log.hpp"

namespace cgfence::ctl {
namespace {

std::string hex(uint64_t value)
{
    char text[19];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
    return text;
}

const char *outcome_name(LoadOutcome outcome)
{
    switch (outcome) {
    case LoadOutcome::loaded:
        return "loaded";
    case LoadOutcome::upgraded:
        return "upgraded";
    case LoadOutcome::unchanged:
        return "unchanged";
    }
    return "?";
}

int run_load(const GlobalOptions &global, bool maps_only)
{
    if (!maps_only) {
        if (auto probe = probe_bpf_lsm(); !probe) {
            log::error(probe.error().message());
            return exit_code::not_supported;
        }
    }
    auto report = load({PinLayout{global.pin_dir}, maps_only});
    if (!report) {
        log::error(report.error().message());
        return exit_code::failed;
    }
    for (const std::string &warning : report->warnings)
        log::warning(warning);
    if (global.json) {
        nlohmann::json out = {{"outcome", outcome_name(report->outcome)},
                              {"build_id", hex(report->build_id)},
                              {"programs", report->programs},
                              {"reused_maps", report->reused_maps},
                              {"marks", mark_store_name(report->marks)},
                              {"marked_running", report->marked_running},
                              {"warnings", report->warnings},
                              {"maps_only", maps_only}};
        std::puts(out.dump(2).c_str());
        return exit_code::ok;
    }
    switch (report->outcome) {
    case LoadOutcome::unchanged:
        std::printf("cgfence build %s is already loaded at %s: nothing to do\n",
                    hex(report->build_id).c_str(), global.pin_dir.c_str());
        break;
    case LoadOutcome::loaded:
    case LoadOutcome::upgraded:
        std::printf("cgfence build %s %s at %s: %zu programs attached%s, %zu maps kept\n",
                    hex(report->build_id).c_str(), outcome_name(report->outcome),
                    global.pin_dir.c_str(), report->programs.size(),
                    maps_only ? " (maps only: enforcement is NOT live)" : "",
                    report->reused_maps.size());
        if (report->marked_running > 0)
            std::printf("%zu running tasks of registered containers had no mark: marked now\n",
                        report->marked_running);
        break;
    }
    return exit_code::ok;
}

int run_unload(const GlobalOptions &global, bool force)
{
    if (auto status = unload(PinLayout{global.pin_dir}, force); !status) {
        log::error(status.error().message());
        return status.error().errnum == 0 ? exit_code::refused : exit_code::failed;
    }
    if (!global.json)
        std::printf("cgfence unloaded from %s: enforcement ended\n", global.pin_dir.c_str());
    return exit_code::ok;
}

int run_status(const GlobalOptions &global)
{
    auto status = read_status(PinLayout{global.pin_dir});
    if (!status) {
        log::error(status.error().message());
        return exit_code::failed;
    }
    const EnforcementStatus &s = *status;
    if (global.json) {
        nlohmann::json programs = nlohmann::json::array();
        for (const auto &p : s.programs)
            programs.push_back(
                {{"name", p.name}, {"prog_id", p.program_id}, {"link_id", p.link_id}});
        nlohmann::json maps = nlohmann::json::array();
        for (const auto &m : s.maps)
            maps.push_back(
                {{"name", m.name},
                 {"id", m.id},
                 {"type", m.type},
                 {"max_entries", m.max_entries},
                 {"entries", m.entries < 0 ? nlohmann::json() : nlohmann::json(m.entries)}});
        nlohmann::json out = {{"pin_dir", global.pin_dir},
                              {"pinned", s.pinned},
                              {"enforcement_live", s.live},
                              {"maps_only", s.maps_only},
                              {"abi_version", s.abi_version},
                              {"build_id", hex(s.build_id)},
                              {"this_build_id", hex(this_build_id())},
                              {"loaded_at_ns", s.loaded_at_ns},
                              {"containers", s.containers},
                              {"marks", s.marks},
                              {"programs", programs},
                              {"maps", maps}};
        std::puts(out.dump(2).c_str());
        return exit_code::ok;
    }
    std::printf("pin dir:      %s\n", global.pin_dir.c_str());
    if (!s.pinned) {
        std::printf("enforcement:  NOT live (nothing pinned; run `cgfencectl load`)\n");
        return exit_code::ok;
    }
    std::printf("enforcement:  %s\n", s.live        ? "live"
                                      : s.maps_only ? "NOT live (maps only: `load --maps-only`)"
                                                    : "NOT live (no program attached)");
    std::printf("build:        %s%s\n", hex(s.build_id).c_str(),
                s.build_id == this_build_id() ? "" : " (this cgfencectl has another build)");
    std::printf("abi version:  %u\n", s.abi_version);
    std::printf("containers:   %llu\n", static_cast<unsigned long long>(s.containers));
    std::printf("task marks:   %s\n", s.marks.empty() ? "-" : s.marks.c_str());
    std::printf("programs:     %zu\n", s.programs.size());
    for (const auto &p : s.programs)
        std::printf("  %-30s prog %-6u link %u\n", p.name.c_str(), p.program_id, p.link_id);
    std::printf("maps:\n");
    for (const auto &m : s.maps) {
        std::string used = m.entries < 0 ? "-" : std::to_string(m.entries);
        std::printf("  %-12s id %-6u %-14s %8s / %u\n", m.name.c_str(), m.id, m.type.c_str(),
                    used.c_str(), m.max_entries);
    }
    return exit_code::ok;
}

} // namespace

void add_load_commands(CLI::App &app, const GlobalOptions &global, Action &action)
{
    auto *load_cmd = app.add_subcommand(
        "load", "Load, attach and pin cgfence's programs and maps (idempotent; upgrades in place)");
    static bool maps_only = false;
    load_cmd->add_flag("--maps-only", maps_only,
                       "create and pin the maps only (kernels without BPF LSM: tests, dry runs)");
    load_cmd->footer(help_footer(
        "Exit status 3 when this kernel does not run BPF LSM programs (the message says how\n"
        "to enable them); the boot unit treats that as success.\n"
        "Examples:\n  cgfencectl load\n  cgfencectl load --maps-only --pin-dir /sys/fs/bpf/test"));
    load_cmd->callback([&] { action = [&] { return run_load(global, maps_only); }; });

    auto *unload_cmd = app.add_subcommand("unload", "End enforcement and remove every pin");
    static bool force = false;
    unload_cmd->add_flag("--force", force, "unload even while containers are registered");
    unload_cmd->footer(help_footer("Exit status 4 when containers are registered and --force "
                                   "is not given.\nExample:\n  cgfencectl unload"));
    unload_cmd->callback([&] { action = [&] { return run_unload(global, force); }; });

    auto *status_cmd =
        app.add_subcommand("status", "Is enforcement live? What is pinned, how many containers");
    status_cmd->footer(help_footer("Examples:\n  cgfencectl status\n  cgfencectl status --json"));
    status_cmd->callback([&] { action = [&] { return run_status(global); }; });
}

} // namespace cgfence::ctl
