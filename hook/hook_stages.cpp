#include "hook_stages.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <unistd.h>

#include "config.hpp"
#include "container_cgroup.hpp"
#include "container_process.hpp"
#include "container_view.hpp"
#include "log.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "policy_compiler.hpp"
#include "profile.hpp"
#include "records.hpp"
#include "registration.hpp"
#include "unique_fd.hpp"

namespace cgfence {
namespace {

using Clock = std::chrono::steady_clock;

std::string milliseconds_since(Clock::time_point start)
{
    const auto elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f ms", elapsed);
    return text;
}

std::optional<std::string> annotation(const oci::State &state, const oci::Config &config,
                                      const std::string &key)
{
    if (auto it = state.annotations.find(key); it != state.annotations.end())
        return it->second;
    if (auto it = config.annotations.find(key); it != config.annotations.end())
        return it->second;
    return std::nullopt;
}

Result<std::optional<ProfileMode>> mode_override(const std::optional<std::string> &value)
{
    if (!value)
        return std::optional<ProfileMode>();
    if (*value == "enforce")
        return std::optional<ProfileMode>(ProfileMode::enforce);
    if (*value == "audit")
        return std::optional<ProfileMode>(ProfileMode::audit);
    if (*value == "learn")
        return std::optional<ProfileMode>(ProfileMode::learn);
    return logic_error("read annotation", kModeAnnotation,
                       "\"" + *value + "\" is not a mode (enforce, audit or learn)");
}

// Is the program attached (not only maps pinned)?
bool enforcement_live(const PinnedMaps &maps, const PinLayout &pins)
{
    auto meta = read_meta(maps);
    if (!meta || (meta->flags & CGFENCE_META_MAPS_ONLY))
        return false;
    std::error_code ec;
    return std::filesystem::directory_iterator(pins.links(), ec) !=
           std::filesystem::directory_iterator();
}

} // namespace

Result<Stage> stage_of(const std::optional<std::string> &argument, const oci::State &state)
{
    if (argument) {
        if (*argument == "prestart" || *argument == "createRuntime")
            return Stage::setup;
        if (*argument == "poststop")
            return Stage::teardown;
        return logic_error("read stage", *argument,
                           "the stage argument must be prestart, createRuntime or poststop");
    }
    if (state.status == "creating" || state.status == "created")
        return Stage::setup;
    if (state.status == "stopped")
        return Stage::teardown;
    return Stage::none;
}

Status setup_container(const oci::State &state, const HookConfig &config)
{
    const auto start = Clock::now();
    auto bundle = oci::read_config(state.bundle);
    if (!bundle)
        return bundle.error();
    const std::string profile_name =
        annotation(state, *bundle, kProfileAnnotation).value_or(config.default_profile);
    if (profile_name.empty()) {
        log::debug("container " + state.id + ": no profile selected, nothing to do");
        return {};
    }
    auto mode = mode_override(annotation(state, *bundle, kModeAnnotation));
    if (!mode)
        return mode.error();
    auto profile = load_profile(profile_name, config.profile_dirs);
    if (!profile)
        return profile.error();
    for (const std::string &warning : profile->warnings)
        log::warning("profile " + profile_name + ": " + std::string(warning));
    if (!state.pid)
        return logic_error("set up container", state.id,
                           "the state has no pid: run cgfence-hook at prestart or createRuntime");

    const PinLayout pins{config.pin_dir};
    auto maps = PinnedMaps::open(pins);
    const bool live = maps && enforcement_live(*maps, pins);
    if (!live) {
        const std::string why =
            !maps ? (maps.error().errnum == ENOENT ? "cgfence is not loaded ("
                                                   : "cgfence's maps cannot be used (") +
                        maps.error().message() + ")"
                  : "cgfence's maps are pinned but its program is not attached";
        if (config.on_unavailable == OnUnavailable::refuse)
            return logic_error("confine container", state.id,
                               why + ". Run `cgfencectl load` (see `cgfencectl status`), or set "
                                     "\"on_unavailable\": \"allow\" in the config to run "
                                     "containers unconfined");
        log::warning("container " + state.id + " runs UNCONFINED: " + why +
                     " (on_unavailable=allow)");
        if (!maps)
            return {};
    }

    // Held while the hook works: had it died, its cgroup and mounts could be another's.
    auto process = HeldProcess::open(static_cast<pid_t>(*state.pid));
    if (!process)
        return process.error();
    auto cgroup = container_cgroup(static_cast<pid_t>(*state.pid));
    if (!cgroup)
        return cgroup.error();
    if (auto s = check_registration(*maps, state.id, state.bundle, *cgroup); !s)
        return s;
    auto view = ContainerView::open(static_cast<pid_t>(*state.pid), bundle->root_path);
    if (!view)
        return view.error();
    CompileOptions options;
    options.mode = *mode;
    options.events_per_sec = config.events_per_second;
    options.events_burst = config.events_burst;
    auto compiled = compile_policy(*profile, *view, options);
    if (!compiled)
        return compiled.error();

    cgfence_record record{};
    if (auto s = fill_record_names(record, state.id, state.bundle, profile_name); !s)
        return s;
    record.cgroup = cgroup->id;
    record.created_ns = record.updated_ns = realtime_ns();
    record.rule_count = static_cast<uint32_t>(compiled->policy.rules.size());
    record.mode = compiled->policy.settings.mode;
    auto identity = view_identity(static_cast<pid_t>(*state.pid), *view);
    if (!identity)
        return identity.error();
    record.view_mnt_ns = identity->mnt_ns;
    record.view_root_dev = identity->root_dev;
    record.view_root_ino = identity->root_ino;
    // Its tasks become its own by an exec in its mount namespace only.
    compiled->policy.view_mnt_ns = identity->mnt_ns;
    // The record first, so that a policy is never without the record that
    // poststop and gc find it by.
    auto key = put_record(*maps, record);
    if (!key)
        return key.error();
    if (auto s = publish_policy(*maps, cgroup->id, compiled->policy); !s) {
        (void)delete_record(*maps, *key);
        return s;
    }
    // The pid was checked while we held it: had it died, its cgroup and
    // mounts could have been another's.
    if (!process->alive()) {
        (void)withdraw_policy(*maps, cgroup->id);
        (void)delete_record(*maps, *key);
        return logic_error("set up container", state.id, "its process exited during setup");
    }
    log::info("setup container " + state.id + ": profile " + profile_name + ", mode " +
              mode_name(compiled->mode) + ", cgroup " + std::to_string(cgroup->id) + " (" +
              cgroup->path + "), " + std::to_string(record.rule_count) + " rules (" +
              std::to_string(compiled->skipped.size()) + " paths absent), " +
              milliseconds_since(start));
    return {};
}

Status teardown_container(const oci::State &state, const HookConfig &config)
{
    const auto start = Clock::now();
    auto maps = PinnedMaps::open(PinLayout{config.pin_dir});
    if (!maps) {
        log::info("teardown container " + state.id + ": cgfence is not loaded, nothing to remove");
        return {};
    }
    auto record = find_record(*maps, state.id, state.bundle);
    if (!record)
        return record.error();
    if (!*record) {
        log::info("teardown container " + state.id + ": not registered, nothing to remove");
        return {};
    }
    const uint64_t cgroup = (*record)->value.cgroup;
    auto removed = withdraw_policy(*maps, cgroup);
    if (!removed)
        return removed.error();
    if (auto s = delete_record(*maps, (*record)->key); !s)
        return s;
    log::info("teardown container " + state.id + ": profile " + (*record)->value.profile +
              ", cgroup " + std::to_string(cgroup) + " removed, " + milliseconds_since(start));
    return {};
}

} // namespace cgfence
