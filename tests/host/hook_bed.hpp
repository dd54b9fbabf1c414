// A bench for running the real cgfence-hook and cgfencectl on the host:
// maps-only cgfence in a private bpffs, a profile, a bundle, a config, and
// fake containers (a real process in a cgroup of its own).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/types.h>
#include <vector>

#include "built.hpp"
#include "parked_process.hpp"
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
    std::unique_ptr<ParkedProcess> process; // in `cgroup` once constructed
    pid_t pid = -1;
    explicit FakeContainer(const std::string &name);
    FakeContainer(const FakeContainer &) = delete;
    FakeContainer &operator=(const FakeContainer &) = delete;
    void kill_without_poststop();
};

// The bench with one container already registered (so that "the maps as
// before" means something), and a live process to point states at.
struct Scene {
    HookBed bed;
    FakeContainer resident{"scene-resident"};
    FakeContainer target{"scene-target"};
    std::string before; // bed.snapshot() with the resident registered

    Scene();
    ~Scene();
    Scene(const Scene &) = delete;
    Scene &operator=(const Scene &) = delete;

    // A valid set-up state for `target`, to be spoiled by a test.
    [[nodiscard]] nlohmann::json valid() const;
    // A bundle of its own with `config` as its config.json; its path.
    [[nodiscard]] std::string bundle_with(const std::string &name, const std::string &config) const;
    // Runs the hook: it must fail with `status`, one error line saying
    // `says`, and leave the maps as before.
    void expect(const std::string &input, int status, const std::string &says,
                const std::vector<std::string> &args = {}) const;
    void expect(const nlohmann::json &state, int status, const std::string &says,
                const std::vector<std::string> &args = {}) const;
};

} // namespace cgfence::test
