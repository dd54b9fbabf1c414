// Turns a profile into a container's policy: every rule resolved to (dev, ino)
// in the container's view, the nearest enclosing rule carried to the root of
// each mount (inode hooks see no mount), and the rootfs's overlay layers
// marked. The result is complete before anything is published.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "container_view.hpp"
#include "error.hpp"
#include "policy.hpp"
#include "profile.hpp"

namespace cgfence {

struct CompileOptions {
    std::optional<ProfileMode> mode; // overrides the profile's (io.cgfence.mode)
    uint32_t events_per_sec = 100;
    uint32_t events_burst = 200;
    // The rootfs's overlay layer roots when they are known already: a running
    // container's, from its published policy (its view no longer reaches the
    // host paths its mount options name). Else found from the mount options.
    std::optional<std::vector<PolicyKey>> overlay_layers;
};

struct CompiledPolicy {
    ContainerPolicy policy;
    ProfileMode mode = ProfileMode::enforce;
    size_t rules_resolved = 0;
    std::vector<std::string> skipped; // rule paths that do not exist in the view
};

// CGFENCE_MODE_* of a profile mode.
uint8_t kernel_mode(ProfileMode mode);

Result<CompiledPolicy> compile_policy(const Profile &profile, const ContainerView &view,
                                      const CompileOptions &options);

// The overlay layer directories named in an overlay mount's options
// (lowerdir, lowerdir+, datadir+, upperdir, workdir); relative lower
// directories (containers/storage's "l/..." links) are taken relative to the
// directory holding the upper layer's parent.
std::vector<std::string> overlay_layers(const std::string &super_options);

} // namespace cgfence
