// A bench for running the real cgfence-hook and cgfencectl on the host:
// maps-only cgfence in a private bpffs, a profile, a bundle, a config, and
// fake containers (a real process in a cgroup of its own).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/types.h>
#include <vector>

#include "sandbox.hpp"

namespace cgfence::test {

// What a program printed on stdout.
std::string capture(const std::string &command);

struct HookRun {
    int status = -1;
    std::string err; // what the hook wrote to stderr
};

struct HookBed {
    TempDir dir;
    std::string pins = (dir / "bpf/cgfence").string();
    std::string config = (dir / "config.json").string();
    std::string bundle = (dir / "bundle").string();

    HookBed();
    ~HookBed();
    HookBed(const HookBed &) = delete;
    HookBed &operator=(const HookBed &) = delete;

    // cgfencectl --pin-dir <pins> ARGS; its stdout.
    [[nodiscard]] std::string ctl(const std::string &args) const;
    // Runs the hook as a runtime would, with the state on stdin.
    int hook(const nlohmann::json &state) const;
    // Runs the hook with `input` as stdin and extra arguments (after the
    // config and pin dir, which `args` may override).
    [[nodiscard]] HookRun hook_raw(const std::string &input,
                                   const std::vector<std::string> &args = {}) const;
    [[nodiscard]] nlohmann::json state(const std::string &id, const std::string &status,
                                       pid_t pid) const;
    // Everything the maps hold, as cgfencectl sees it: every container's
    // record and counters, and the rules of those with a record.
    [[nodiscard]] std::string snapshot() const;
};

// A process in a cgroup of its own, as a container's init would be.
struct FakeContainer {
    std::unique_ptr<TestCgroup> cgroup;
    pid_t pid = -1;
    explicit FakeContainer(const std::string &name);
    ~FakeContainer();
    FakeContainer(const FakeContainer &) = delete;
    FakeContainer &operator=(const FakeContainer &) = delete;
    void kill_without_poststop();
};

} // namespace cgfence::test
