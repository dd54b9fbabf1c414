// /etc/cgfence/config.json: what the hook does when a container carries no
// annotation, where the pins and profiles are, and what happens when
// enforcement is not live. Every key is optional; unknown keys are errors (a
// typo in a security setting must not pass silently).
//
//   {"default_profile": "", "pin_dir": "/sys/fs/bpf/cgfence",
//    "profile_dirs": ["/etc/cgfence/profiles", "/usr/share/cgfence/profiles"],
//    "log_level": "info", "on_unavailable": "refuse",
//    "events_per_second": 100, "events_burst": 200}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "log.hpp"

namespace cgfence {

inline constexpr const char *kDefaultConfigPath = "/etc/cgfence/config.json";

enum class OnUnavailable { refuse, allow };

struct HookConfig {
    std::string default_profile; // empty: no policy for containers without an annotation
    std::string pin_dir = "/sys/fs/bpf/cgfence";
    std::vector<std::string> profile_dirs = {"/etc/cgfence/profiles",
                                             "/usr/share/cgfence/profiles"};
    log::Level log_level = log::Level::info;
    OnUnavailable on_unavailable = OnUnavailable::refuse;
    uint32_t events_per_second = 100;
    uint32_t events_burst = 200;
};

Result<HookConfig> parse_hook_config(const std::string &text, const std::string &source);

// Reads the config file; a missing file gives the defaults.
Result<HookConfig> load_hook_config(const std::string &path);

} // namespace cgfence
