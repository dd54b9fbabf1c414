// What cgfence-hook does at each stage: set a container's policy up before its
// code runs, and take everything of it away when it has stopped.
#pragma once

#include <optional>
#include <string>

#include "error.hpp"
#include "hook_config.hpp"
#include "state.hpp"

namespace cgfence {

enum class Stage { setup, teardown, none };

// The stage from an explicit argument (prestart, createRuntime: setup;
// poststop: teardown) or else the state's status (creating, created: setup;
// stopped: teardown; running: nothing).
Result<Stage> stage_of(const std::optional<std::string> &argument, const oci::State &state);

inline constexpr const char *kProfileAnnotation = "io.cgfence.profile";
inline constexpr const char *kModeAnnotation = "io.cgfence.mode";

// Publishes the container's policy and its record. An error means the
// container must not start (the hook exits non-zero).
Status setup_container(const oci::State &state, const HookConfig &config);

// Removes the container's policy and record, found by its record alone.
// Unknown containers are not an error.
Status teardown_container(const oci::State &state, const HookConfig &config);

} // namespace cgfence
