// cgfencectl ps, show, stats and gc against real pinned maps, with
// containers registered by the real cgfence-hook (fake runtime, real
// processes and cgroups).
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <bpf/bpf.h>

#include "hook_bed.hpp"
#include "learned.hpp"

using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("ps and show list what the hook registered; stats counts it in Prometheus format")
{
    HookBed s;
    FakeContainer c("ctl-ps");
    REQUIRE(s.hook(s.state("web-1", "creating", c.pid)) == 0);
    const json ps = json::parse(s.ctl("--json ps"));
    REQUIRE(ps.size() == 1);
    CHECK(ps[0]["id"] == "web-1");
    CHECK(ps[0]["profile"] == "p");
    CHECK(ps[0]["mode"] == "enforce");
    CHECK(ps[0]["cgroup"] == c.cgroup->id());
    CHECK(ps[0]["policy"] == true);
    const json show = json::parse(s.ctl("show web-1"));
    CHECK(show["id"] == "web-1");
    CHECK(show["default"] == "none");
    CHECK(show["kernel_rules"].size() >= 2); // /etc, and the rootfs's mount boundary
    const std::string prometheus = s.ctl("stats --format prometheus");
    CHECK(prometheus.find("cgfence_denials_total{container=\"web-1\",profile=\"p\"} 0") !=
          std::string::npos);
    CHECK(prometheus.find("cgfence_containers 1") != std::string::npos);
    REQUIRE(s.hook(s.state("web-1", "stopped", 0)) == 0);
    CHECK(json::parse(s.ctl("--json ps")).empty());
}

TEST_CASE("gc removes containers whose cgroup is gone and leaves live ones alone")
{
    HookBed s;
    FakeContainer dead("ctl-gc-dead");
    FakeContainer live("ctl-gc-live");
    REQUIRE(s.hook(s.state("dead", "creating", dead.pid)) == 0);
    REQUIRE(s.hook(s.state("live", "creating", live.pid)) == 0);
    dead.kill_without_poststop();
    const json removed = json::parse(s.ctl("--json gc"))["removed"];
    REQUIRE(removed.size() == 1);
    CHECK(removed[0]["id"] == "dead");
    const json ps = json::parse(s.ctl("--json ps"));
    REQUIRE(ps.size() == 1);
    CHECK(ps[0]["id"] == "live");
    CHECK(json::parse(s.ctl("--json gc"))["removed"].empty());
}

TEST_CASE("gc removes learned accesses of containers no longer registered, and only those")
{
    HookBed s;
    FakeContainer live("ctl-gc-learn");
    REQUIRE(s.hook(s.state("live", "creating", live.pid)) == 0);
    auto maps = cgfence::PinnedMaps::open(cgfence::PinLayout{s.pins});
    REQUIRE(maps.ok());
    const uint64_t gone_cgroup = 1; // the root cgroup: never registered
    for (const uint64_t container : {live.cgroup->id(), gone_cgroup}) {
        cgfence_learned_key key{};
        key.container = container;
        key.ino = 42;
        key.wanted = CGFENCE_ACCESS_READ;
        cgfence_learned value{};
        REQUIRE(bpf_map_update_elem(maps->learned.get(), &key, &value, BPF_NOEXIST) == 0);
    }
    const json out = json::parse(s.ctl("--json gc"));
    CHECK(out["removed"].empty());
    CHECK(out["learned_removed"] == 1);
    CHECK(cgfence::learned_accesses(*maps, live.cgroup->id())->size() == 1);
    CHECK(cgfence::learned_accesses(*maps, gone_cgroup)->empty());
    REQUIRE(s.hook(s.state("live", "stopped", 0)) == 0);
}

TEST_CASE("ps aligns its columns for any id length; global flags may follow the command")
{
    HookBed s;
    FakeContainer a("ctl-align-a");
    FakeContainer b("ctl-align-b");
    const std::string long_id(64, 'f'); // podman's ids are 64 hex digits
    REQUIRE(s.hook(s.state("a", "creating", a.pid)) == 0);
    REQUIRE(s.hook(s.state(long_id, "creating", b.pid)) == 0);
    std::istringstream table(s.ctl("ps"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(table, line);)
        lines.push_back(line);
    REQUIRE(lines.size() == 3);
    const size_t profile_column = lines[0].find("PROFILE");
    REQUIRE(profile_column != std::string::npos);
    CHECK(profile_column > long_id.size());
    for (size_t i = 1; i < lines.size(); ++i)
        CHECK(lines[i].substr(profile_column, 2) == "p ");
    // Right-aligned numbers end under the end of their header.
    const size_t cgroup_end = lines[0].find("CGROUP") + 6;
    for (size_t i = 1; i < lines.size(); ++i)
        CHECK(std::isdigit(static_cast<unsigned char>(lines[i][cgroup_end - 1])));

    CHECK(json::parse(s.ctl("ps --json")).size() == 2);
    const json stats = json::parse(s.ctl("stats --json"));
    CHECK(stats["containers"] == 2);
    CHECK(stats["capacity"] == 4096);
    CHECK(s.ctl("stats").find("containers: 2 of 4096") != std::string::npos);
    REQUIRE(s.hook(s.state("a", "stopped", 0)) == 0);
    REQUIRE(s.hook(s.state(long_id, "stopped", 0)) == 0);
}

TEST_CASE("every cgfencectl command's --help has examples, the global options and exit codes")
{
    for (const char *command : {"", "load", "unload", "status", "ps", "show", "events", "stats",
                                "gc", "profile", "profile check", "profile learn", "apply"}) {
        CAPTURE(command);
        const std::string help = capture(cgfencectl_path() + " " + command + " --help");
        CHECK(help.find("Example") != std::string::npos);
        CHECK(help.find("--pin-dir") != std::string::npos);
        CHECK(help.find("Exit codes: 0 ok, 1 failed, 2 usage") != std::string::npos);
    }
}

TEST_CASE("gc running over and over while containers start removes none of them")
{
    HookBed s;
    constexpr int count = 16;
    std::vector<std::unique_ptr<FakeContainer>> starting;
    starting.reserve(count);
    for (int i = 0; i < count; ++i)
        starting.push_back(std::make_unique<FakeContainer>("ctl-gc-race-" + std::to_string(i)));
    std::atomic<bool> done{false};
    std::atomic<int> gc_runs{0}, gc_removed{0};
    std::thread collector([&] {
        while (!done) {
            const json out = json::parse(s.ctl("--json gc"));
            gc_removed += static_cast<int>(out["removed"].size());
            ++gc_runs;
        }
    });
    std::vector<std::thread> hooks;
    hooks.reserve(count);
    std::atomic<int> hook_failures{0};
    for (int i = 0; i < count; ++i)
        hooks.emplace_back([&, i] {
            if (s.hook(s.state("race-" + std::to_string(i), "creating", starting[i]->pid)) != 0)
                ++hook_failures;
        });
    for (auto &t : hooks)
        t.join();
    done = true;
    collector.join();
    CHECK(hook_failures == 0);
    CHECK(gc_runs > 0);
    CHECK(gc_removed == 0);
    const json ps = json::parse(s.ctl("--json ps"));
    CHECK(ps.size() == count);
    for (const auto &c : ps)
        CHECK(c["policy"] == true);
    for (int i = 0; i < count; ++i)
        CHECK(s.hook(s.state("race-" + std::to_string(i), "stopped", 0)) == 0);
}
