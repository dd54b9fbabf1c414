// The bad-input matrix of cgfence-hook: each case runs the real hook against
// real pinned maps holding one registered container, and must end with one
// clear error line, the documented exit status (1 failed, 2 usage), and the
// maps exactly as before.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "hook_bed.hpp"
#include "maps.hpp"
#include "policy.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

} // namespace

TEST_CASE("bad input: empty stdin")
{
    Scene s;
    s.expect(std::string(), kFailed, "empty");
}

TEST_CASE("bad input: only whitespace")
{
    Scene s;
    s.expect(std::string(" \n\t\n"), kFailed, "empty");
}

TEST_CASE("bad input: truncated JSON")
{
    Scene s;
    const std::string text = s.valid().dump();
    s.expect(text.substr(0, text.size() / 2), kFailed, "JSON");
}

TEST_CASE("bad input: not a JSON object")
{
    Scene s;
    s.expect(std::string("[1, 2, 3]"), kFailed, "object");
}

TEST_CASE("bad input: huge input (over 64 KiB)")
{
    Scene s;
    json state = s.valid();
    state["annotations"]["padding"] = std::string(size_t{200} * 1024, 'x');
    s.expect(state, kFailed, "exceeds the limit");
}

TEST_CASE("bad input: a NUL byte in the JSON text")
{
    Scene s;
    std::string text = s.valid().dump();
    text.insert(text.size() / 2, 1, '\0');
    s.expect(text, kFailed, "JSON");
}

TEST_CASE("bad input: two JSON documents")
{
    Scene s;
    s.expect(s.valid().dump() + s.valid().dump(), kFailed, "JSON");
}

TEST_CASE("bad input: id missing")
{
    Scene s;
    json state = s.valid();
    state.erase("id");
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: id of the wrong type")
{
    Scene s;
    json state = s.valid();
    state["id"] = 42;
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: empty id")
{
    Scene s;
    json state = s.valid();
    state["id"] = "";
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: id with a slash")
{
    Scene s;
    json state = s.valid();
    state["id"] = "../resident";
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: id with a NUL")
{
    Scene s;
    json state = s.valid();
    state["id"] = std::string("resident\0x", 10);
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: id longer than a record holds")
{
    Scene s;
    json state = s.valid();
    state["id"] = std::string(300, 'a');
    s.expect(state, kFailed, "id");
}

TEST_CASE("bad input: status of the wrong type")
{
    Scene s;
    json state = s.valid();
    state["status"] = true;
    s.expect(state, kFailed, "status");
}

TEST_CASE("bad input: pid missing at set-up")
{
    Scene s;
    json state = s.valid();
    state.erase("pid");
    s.expect(state, kFailed, "pid");
}

TEST_CASE("bad input: pid of the wrong type")
{
    Scene s;
    json state = s.valid();
    state["pid"] = "1234";
    s.expect(state, kFailed, "pid");
}

TEST_CASE("bad input: pid zero or negative")
{
    Scene s;
    json state = s.valid();
    state["pid"] = 0;
    s.expect(state, kFailed, "pid");
    state["pid"] = -5;
    s.expect(state, kFailed, "pid");
}

TEST_CASE("bad input: pid of a process that has exited")
{
    Scene s;
    json state = s.valid();
    FakeContainer gone("bad-input-gone");
    state["pid"] = gone.pid;
    gone.kill_without_poststop();
    s.expect(state, kFailed, "No such process");
}

TEST_CASE("bad input: pid of a process in the runtime's own cgroup")
{
    Scene s;
    json state = s.valid();
    state["pid"] = ::getpid(); // the test runner: where the "runtime" (this process) runs
    s.expect(state, kFailed, "cgroup");
}

TEST_CASE("bad input: pid of a process in another registered container's cgroup")
{
    Scene s;
    json state = s.valid();
    state["pid"] = s.resident.pid;
    s.expect(state, kFailed, "cgroup");
}

TEST_CASE("bad input: bundle missing")
{
    Scene s;
    json state = s.valid();
    state.erase("bundle");
    s.expect(state, kFailed, "bundle");
}

TEST_CASE("bad input: relative bundle path")
{
    Scene s;
    json state = s.valid();
    state["bundle"] = "bundle";
    s.expect(state, kFailed, "bundle");
}

TEST_CASE("bad input: bundle that does not exist")
{
    Scene s;
    json state = s.valid();
    state["bundle"] = (s.bed.dir / "no-such-bundle").string();
    s.expect(state, kFailed, "no-such-bundle");
}

TEST_CASE("bad input: config.json missing from the bundle")
{
    Scene s;
    json state = s.valid();
    fs::create_directories(s.bed.dir / "empty-bundle");
    state["bundle"] = (s.bed.dir / "empty-bundle").string();
    s.expect(state, kFailed, "config.json");
}

TEST_CASE("bad input: config.json is a symlink")
{
    Scene s;
    json state = s.valid();
    const fs::path dir = s.bed.dir / "symlink-bundle";
    fs::create_directories(dir);
    fs::create_symlink(fs::path(s.bed.bundle) / "config.json", dir / "config.json");
    state["bundle"] = dir.string();
    s.expect(state, kFailed, "config.json");
}

TEST_CASE("bad input: config.json unreadable (a directory)")
{
    Scene s;
    json state = s.valid();
    const fs::path dir = s.bed.dir / "dir-bundle";
    fs::create_directories(dir / "config.json");
    state["bundle"] = dir.string();
    s.expect(state, kFailed, "config.json");
}

TEST_CASE("bad input: config.json not JSON")
{
    Scene s;
    json state = s.valid();
    state["bundle"] = s.bundle_with("garbled-bundle", "{\"root\": ");
    s.expect(state, kFailed, "config.json");
}

TEST_CASE("bad input: config.json without root.path")
{
    Scene s;
    json state = s.valid();
    state["bundle"] = s.bundle_with("rootless-bundle", R"({"root": {}})");
    s.expect(state, kFailed, "root");
}

TEST_CASE("bad input: annotations of the wrong type")
{
    Scene s;
    json state = s.valid();
    state["annotations"] = "io.cgfence.profile=p";
    s.expect(state, kFailed, "annotations");
}

TEST_CASE("bad input: unknown profile")
{
    Scene s;
    json state = s.valid();
    state["annotations"]["io.cgfence.profile"] = "no-such-profile";
    s.expect(state, kFailed, "no-such-profile");
}

TEST_CASE("bad input: profile name that is a path")
{
    Scene s;
    json state = s.valid();
    state["annotations"]["io.cgfence.profile"] = "../../etc/passwd";
    s.expect(state, kFailed, "profile");
}

TEST_CASE("bad input: malformed profile")
{
    Scene s;
    write_file(s.bed.dir / "profiles/broken.json", R"({"default": "deny", "rules": [)");
    json state = s.valid();
    state["annotations"]["io.cgfence.profile"] = "broken";
    s.expect(state, kFailed, "broken.json");
}

TEST_CASE("bad input: profile with an invalid rule")
{
    Scene s;
    write_file(s.bed.dir / "profiles/badrule.json",
               R"({"default": "deny", "rules": [{"path": "/etc", "access": "rq"}]})");
    json state = s.valid();
    state["annotations"]["io.cgfence.profile"] = "badrule";
    s.expect(state, kFailed, "badrule.json");
}

TEST_CASE("bad input: unknown mode annotation")
{
    Scene s;
    json state = s.valid();
    state["annotations"]["io.cgfence.mode"] = "sometimes";
    s.expect(state, kFailed, "sometimes");
}

TEST_CASE("bad input: pins missing, on_unavailable refuse")
{
    Scene s;
    write_file(s.bed.dir / "refuse.json",
               R"({"on_unavailable": "refuse", "log_level": "error", "profile_dirs": [")" +
                   (s.bed.dir / "profiles").string() + "\"]}");
    s.expect(s.valid(), kFailed, "cgfencectl load",
             {"--config", (s.bed.dir / "refuse.json").string(), "--pin-dir",
              (s.bed.dir / "bpf/nothing-here").string()});
}

TEST_CASE("bad input: hook config with an unknown key")
{
    Scene s;
    write_file(s.bed.dir / "unknown-key.json", R"({"default_profle": "p"})");
    s.expect(s.valid(), kFailed, "default_profle",
             {"--config", (s.bed.dir / "unknown-key.json").string()});
}

TEST_CASE("bad input: hook config not JSON")
{
    Scene s;
    write_file(s.bed.dir / "garbled-config.json", "on_unavailable = allow");
    s.expect(s.valid(), kFailed, "garbled-config.json",
             {"--config", (s.bed.dir / "garbled-config.json").string()});
}

TEST_CASE("bad input: unknown stage argument")
{
    Scene s;
    s.expect(s.valid(), kUsage, "stage", {"prestop"});
}

TEST_CASE("bad input: unknown option")
{
    Scene s;
    s.expect(s.valid(), kUsage, "--frobnicate", {"--frobnicate"});
}

TEST_CASE("bad input: a registered container's id and bundle again, with another live cgroup")
{
    Scene s;
    json state = s.valid();
    state["id"] = "resident";
    s.expect(state, kFailed, "already registered");
}

TEST_CASE("bad input: a cgroup inside a registered container's cgroup")
{
    Scene s;
    TestCgroup child(*s.resident.cgroup, "nested");
    json state = s.valid();
    // Move the target's process below the resident's cgroup.
    write_file(child.path() + "/cgroup.procs", std::to_string(s.target.pid));
    s.expect(state, kFailed, "inside");
}

TEST_CASE("bad input: a cgroup that contains a registered container's cgroup")
{
    Scene s;
    TestCgroup inner(*s.target.cgroup, "inner");
    // A container registered below the target's cgroup...
    write_file(inner.path() + "/cgroup.procs", std::to_string(s.target.pid));
    REQUIRE(s.bed.hook(s.bed.state("inner", "creating", s.target.pid)) == 0);
    write_file(s.target.cgroup->path() + "/cgroup.procs", std::to_string(s.target.pid));
    s.before = s.bed.snapshot();
    // ...and then the target itself, whose policy would decide for it.
    s.expect(s.valid(), kFailed, "contains");
    CHECK(s.bed.hook(s.bed.state("inner", "stopped", 0)) == 0);
}

TEST_CASE("bad input: policies map full")
{
    Scene s;
    auto maps = PinnedMaps::open(PinLayout{s.bed.pins});
    REQUIRE(maps.ok());
    const ContainerPolicy policy = PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).build();
    const size_t registered = registered_cgroups(*maps)->size();
    REQUIRE(registered < CGFENCE_MAX_CONTAINERS);
    // Cgroup ids no real cgroup has (they count up from 1 at boot).
    for (uint64_t n = registered; n < CGFENCE_MAX_CONTAINERS; ++n)
        REQUIRE(publish_policy(*maps, (1ULL << 60) + n, policy).ok());
    s.before = s.bed.snapshot();
    s.expect(s.valid(), kFailed, "gc");
}

TEST_CASE("a registration left by a container killed without poststop gives way to its successor")
{
    Scene s;
    FakeContainer first("stale-first");
    REQUIRE(s.bed.hook(s.bed.state("reused-id", "creating", first.pid)) == 0);
    const uint64_t first_cgroup = first.cgroup->id();
    first.kill_without_poststop();
    FakeContainer second("stale-second");
    REQUIRE(s.bed.hook(s.bed.state("reused-id", "creating", second.pid)) == 0);
    const json ps = json::parse(s.bed.ctl("--json ps"));
    REQUIRE(ps.size() == 2); // the resident and the successor
    for (const auto &c : ps) {
        CHECK(c["cgroup"] != first_cgroup);
        CHECK(c["policy"] == true);
    }
    CHECK(s.bed.hook(s.bed.state("reused-id", "stopped", 0)) == 0);
}

TEST_CASE("the same container set up twice (prestart and createRuntime) keeps one registration")
{
    Scene s;
    REQUIRE(s.bed.hook(s.valid()) == 0);
    REQUIRE(s.bed.hook_raw(s.valid().dump(), {"createRuntime"}).status == 0);
    CHECK(json::parse(s.bed.ctl("--json ps")).size() == 2);
    CHECK(s.bed.hook(s.bed.state("target", "stopped", 0)) == 0);
    CHECK(s.bed.snapshot() == s.before);
}
