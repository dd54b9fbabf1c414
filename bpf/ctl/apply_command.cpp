// cgfencectl apply ID PROFILE | apply ID --mode M: a running container's
// policy replaced in one step.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "container_selection.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "live_policy.hpp"
#include "log.hpp"
#include "policy_compiler.hpp"

namespace cgfence::ctl {
namespace {

struct ApplyOptions {
    std::string id;
    std::string profile;
    std::string mode;
    ProfileSource source;
};

std::optional<ProfileMode> parse_mode(const std::string &mode)
{
    if (mode == "enforce")
        return ProfileMode::enforce;
    if (mode == "audit")
        return ProfileMode::audit;
    if (mode == "learn")
        return ProfileMode::learn;
    return std::nullopt;
}

const char *kernel_mode_name(uint8_t mode)
{
    return mode == CGFENCE_MODE_AUDIT ? "audit" : mode == CGFENCE_MODE_LEARN ? "learn" : "enforce";
}

int run_apply(const GlobalOptions &global, const ApplyOptions &options)
{
    if (options.profile.empty() && options.mode.empty()) {
        log::error("apply: give a PROFILE, --mode, or both");
        return exit_code::usage;
    }
    auto selected = open_container(global.pin_dir, options.id);
    if (!selected) {
        log::error(selected.error().message());
        return exit_code::failed;
    }
    const PinnedMaps &maps = selected->maps;
    const ContainerRecord &record = selected->record;
    std::optional<Profile> profile;
    if (!options.profile.empty()) {
        auto loaded = options.source.load(options.profile);
        if (!loaded) {
            log::error(loaded.error().message());
            return exit_code::failed;
        }
        profile = std::move(*loaded);
    }
    LiveChange change{profile ? &*profile : nullptr, parse_mode(options.mode)};
    if (profile && !change.mode && kernel_mode(profile->mode) != record.value.mode)
        log::warning("profile " + profile->name + " says mode " + mode_name(profile->mode) +
                     "; the container keeps mode " + kernel_mode_name(record.value.mode) +
                     " (add --mode " + mode_name(profile->mode) + " to change it)");
    auto changed = change_live_policy(maps, record, change);
    if (!changed) {
        log::error(changed.error().message());
        return exit_code::failed;
    }
    const cgfence_record &now = changed->record;
    for (const std::string &path : changed->skipped)
        log::warning("rule path " + path + " does not exist in the container: skipped");
    for (const std::string &path : changed->kept)
        log::warning("rule path " + path +
                     ": the object it named before is no longer there (renamed, replaced or "
                     "covered by a mount) and keeps the rule until the container restarts");
    if (global.json) {
        std::puts(nlohmann::ordered_json{{"id", now.id},
                                         {"cgroup", now.cgroup},
                                         {"profile", now.profile},
                                         {"mode", kernel_mode_name(now.mode)},
                                         {"rules", now.rule_count},
                                         {"skipped", changed->skipped},
                                         {"kept", changed->kept}}
                      .dump(2)
                      .c_str());
    } else {
        std::printf("%s: profile %s, mode %s, %u rules in force\n", now.id, now.profile,
                    kernel_mode_name(now.mode), now.rule_count);
    }
    return exit_code::ok;
}

} // namespace

void add_apply_command(CLI::App &app, const GlobalOptions &global, Action &action)
{
    static ApplyOptions options;
    auto *apply = app.add_subcommand(
        "apply", "Replace a running container's policy (or only its mode) in one step");
    add_container_id(*apply, options.id);
    apply->add_option("PROFILE", options.profile,
                      "profile NAME (from the profile directories) or a FILE path with a '/'");
    apply->add_option("--mode", options.mode, "enforce, audit or learn (default: keep the mode)")
        ->check(CLI::IsMember({"enforce", "audit", "learn"}));
    options.source.add_options(*apply);
    apply->footer(help_footer(
        "The profile is resolved in the container's view as it is now and published in one\n"
        "step: every access is judged by the old policy or the new one, never by none and\n"
        "never by a mix. The new policy holds at once for every process of the container.\n"
        "The container's record (`cgfencectl show ID`) names the profile and the time of the\n"
        "change. Without PROFILE only the mode changes, the rules stay.\n"
        "Examples:\n"
        "  cgfencectl apply web-1 web-strict\n"
        "  cgfencectl apply web-1 ./web.json --mode enforce\n"
        "  cgfencectl apply web-1 --mode audit"));
    apply->callback([&] { action = [&] { return run_apply(global, options); }; });
}

} // namespace cgfence::ctl
