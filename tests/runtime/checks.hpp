// What the runtime suite checks of the maps and of containers, shared by its
// test files. Checks compare whole strings, so a failure shows what was found.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "containers.hpp"
#include "fence.hpp"

namespace cgfence::test {

// The annotations that select a container's profile and mode (PRODUCT.md).
inline constexpr const char *kProfileAnnotation = "io.cgfence.profile";
inline constexpr const char *kModeAnnotation = "io.cgfence.mode";

struct ExpectedRule {
    const char *path;
    const char *rights; // as rule_text() writes them
};

// The "probe" profile: default allow and three rules on objects no runtime
// mounts over, so that its policy holds exactly these three plus one entry
// per mount root (and per overlay layer).
inline constexpr std::array kProbeRules = {ExpectedRule{"/etc", "r"}, ExpectedRule{"/tmp", "rw"},
                                           ExpectedRule{"/bin/busybox", "rx"}};
nlohmann::json probe_profile();

// "2:5 ino 1234": a key for messages.
std::string key_text(const PolicyKey &key);
// Sorted, comma-separated.
std::string keys_text(std::vector<uint64_t> keys);
// One "id bundle profile cgroup" line per record, sorted.
std::string records_text(const std::vector<ContainerRecord> &records);
// "" when `text` contains every one of `words`, else what is missing and the text.
std::string missing_words(const std::string &text, const std::vector<std::string> &words);

// A command run in the container's view (its mount and pid namespaces and
// its root, with its own binaries) by nsenter, from the test's own cgroup:
// what the container sees, read without the runtime's exec, which runs
// confined itself (see exec_tests.cpp) and is tested on its own.
Finished run_in_view(const RunningContainer &container, const std::vector<std::string> &command);

// The container's view of a path: its inode number, and the dev of the mount
// that holds it (from mountinfo) in the kernel's encoding: the key a rule on
// the path must have. `mountinfo` is the container's.
PolicyKey key_inside(const RunningContainer &container, const std::string &path,
                     const std::string &mountinfo);
// st_dev of the path as stat() in the container reports it, kernel-encoded.
uint32_t stat_dev_inside(const RunningContainer &container, const std::string &path);
// The container's /proc/self/mountinfo.
std::string mountinfo_inside(const RunningContainer &container);

// The container is registered with the probe profile: its cgroup alone in
// policies, counters and containers; its policy holds the probe rules keyed
// as the container sees their paths, one entry per mount root and
// `overlay_layers` layer entries; its record names it.
void check_probe_policy(const PinnedMaps &maps, const RunningContainer &container,
                        size_t overlay_layers = 0);

// `command` as the process of a new container of `bundle` (config.json
// rewritten), run by `container`'s runtime to its end; the runtime deletes it.
Finished run_as_container(OciContainer &container, Bundle &bundle,
                          const std::vector<std::string> &command);

// No policy, counter, rate limit or record is left.
void check_no_entries(const PinnedMaps &maps);

} // namespace cgfence::test
