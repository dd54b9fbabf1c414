// Many containers set up and torn down at once, by cgfence-hook run directly
// as runtimes run it: a state on stdin, a bundle with config.json, and a real
// process in a cgroup of its own. Each container gets exactly its own
// entries, and teardown leaves none, also across an upgrade of cgfence.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <numeric>
#include <atomic>
#include <bpf/bpf.h>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "checks.hpp"
#include "placement.hpp"
#include "parked_process.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kContainers = 64;

// A container's process that, once set free, execs the rootfs's busybox sh
// and keeps trying to append to `file` (a write the probe profile denies)
// until SIGTERM, then prints "attempts=N leaks=N".
class Prober {
  public:
    Prober(const TestCgroup &cgroup, const fs::path &busybox, const fs::path &file)
    {
        int ready[2];
        int go[2];
        int out[2];
        REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        const std::string procs = cgroup.path() + "/cgroup.procs";
        const std::string shell = busybox.string(), target = file.string();
        const char *script = "n=0; leaks=0; trap 'echo attempts=$n leaks=$leaks; exit 0' TERM; "
                             "while :; do n=$((n+1)); "
                             "if { echo x >> \"$0\"; } 2>/dev/null; then leaks=$((leaks+1)); fi; "
                             "done";
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ::write(fd, "0", 1) != 1)
                ::_exit(125);
            (void)!::write(ready[1], "y", 1);
            // Lowest priority: it keeps trying whenever the CPU is idle, and the
            // set-ups it watches do not queue behind it on a one-CPU guest.
            (void)!::nice(19);
            char byte = 0;
            if (::read(go[0], &byte, 1) != 1 || ::dup2(out[1], 1) < 0)
                ::_exit(0);
            ::execl(shell.c_str(), "sh", "-c", script, target.c_str(), nullptr);
            ::_exit(127);
        }
        ::close(ready[1]);
        ::close(go[0]);
        ::close(out[1]);
        go_.reset(go[1]);
        out_.reset(out[0]);
        char joined = 0;
        const bool told = ::read(ready[0], &joined, 1) == 1;
        ::close(ready[0]);
        REQUIRE(told); // it exits without a word when it cannot join the cgroup
    }
    Prober(const Prober &) = delete;
    Prober &operator=(const Prober &) = delete;
    ~Prober()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    [[nodiscard]] pid_t pid() const { return pid_; }
    // Its first exec, after its container's set-up: the policy takes hold.
    void start() const { REQUIRE(::write(go_.get(), "x", 1) == 1); }
    // Stops it; what it printed.
    std::string stop()
    {
        ::kill(pid_, SIGTERM);
        std::string text;
        char buffer[256];
        ssize_t n = 0;
        while ((n = ::read(out_.get(), buffer, sizeof(buffer))) > 0)
            text.append(buffer, static_cast<size_t>(n));
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return text;
    }

  private:
    pid_t pid_ = -1;
    UniqueFd go_;
    UniqueFd out_;
};

// The maps named like the containers' policy maps, system-wide.
size_t policy_maps_alive()
{
    size_t alive = 0;
    uint32_t id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_map_get_fd_by_id(id));
        bpf_map_info info{};
        uint32_t size = sizeof(info);
        if (fd && bpf_obj_get_info_by_fd(fd.get(), &info, &size) == 0 &&
            std::string(info.name) == "cgfence_policy")
            alive++;
    }
    return alive;
}

// One fake container: its cgroup, its process, its bundle (a config.json
// whose root is a shared busybox tree). Half of them carry the profile
// annotation in config.json, the others in the state, as podman sends it.
struct FakeContainer {
    std::string id;
    fs::path bundle;
    std::unique_ptr<TestCgroup> cgroup;
    std::unique_ptr<ParkedProcess> process;
    bool annotation_in_state = false;

    [[nodiscard]] std::string setup_state() const
    {
        json state = {{"ociVersion", "1.0.2-dev"},
                      {"id", id},
                      {"status", "creating"},
                      {"pid", process->pid()},
                      {"bundle", bundle.string()}};
        if (annotation_in_state)
            state["annotations"] = {{kProfileAnnotation, "probe"}};
        return state.dump();
    }
    // runc's poststop state has no pid; crun's has "pid": 0.
    [[nodiscard]] std::string teardown_state() const
    {
        json state = {
            {"ociVersion", "1.0"}, {"id", id}, {"status", "stopped"}, {"bundle", bundle.string()}};
        if (annotation_in_state)
            state["pid"] = 0;
        return state.dump();
    }
    [[nodiscard]] std::string record_line() const
    {
        return id + " " + bundle.string() + " probe " + std::to_string(cgroup->id()) + "\n";
    }
};

// The key of a host path (the fake containers' view is the host's).
PolicyKey host_key(const fs::path &path)
{
    const ObjectKey key = key_of(path);
    return PolicyKey{CGFENCE_KEY_INODE, key.dev, key.ino};
}

// A fake container whose bundle's config.json names the probe profile and
// whose root is `rootfs`.
FakeContainer fake_container(const std::string &id, const fs::path &dir, const fs::path &rootfs)
{
    FakeContainer c;
    c.id = id;
    c.bundle = dir / ("bundle-" + id);
    fs::create_directories(c.bundle);
    const json config = {{"ociVersion", "1.0.2"},
                         {"root", {{"path", rootfs.string()}}},
                         {"annotations", {{kProfileAnnotation, "probe"}}}};
    write_file(c.bundle / "config.json", config.dump());
    c.cgroup = std::make_unique<TestCgroup>("rt-" + id);
    return c;
}

std::string run_hook(const Fence &fence, const std::string &state)
{
    const HookCommand hook = fence.hook();
    std::vector<std::string> argv = hook.args;
    argv.front() = hook.path;
    const Finished done = run_captured(argv, state);
    return done.status == 0 ? "" : outcome(done);
}

// Runs the hook once per container, all at the same time; the failures.
std::string run_hooks_at_once(const Fence &fence, const std::vector<FakeContainer> &containers,
                              bool setup)
{
    const HookCommand hook = fence.hook();
    std::vector<std::string> argv = hook.args;
    argv.front() = hook.path;
    std::vector<Spawned> running;
    running.reserve(containers.size());
    for (const FakeContainer &c : containers)
        running.emplace_back(argv, setup ? c.setup_state() : c.teardown_state());
    std::string failures;
    for (size_t i = 0; i < running.size(); i++) {
        const Finished done = running[i].wait();
        if (done.status != 0)
            failures += containers[i].id + ": " + outcome(done) + "\n";
    }
    return failures;
}

} // namespace

TEST_CASE("64 containers set up and torn down at once leave exactly their own entries, then none" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("concurrent");
    fence.write_profile("probe", probe_profile());
    TempDir dir;
    make_busybox_tree(dir / "rootfs");

    std::vector<FakeContainer> containers(kContainers);
    std::vector<std::string> expected_records;
    std::vector<uint64_t> expected_cgroups;
    for (int i = 0; i < kContainers; i++) {
        FakeContainer &c = containers[static_cast<size_t>(i)];
        c.id = "fake-" + std::to_string(i);
        c.bundle = dir / ("bundle-" + std::to_string(i));
        c.annotation_in_state = i % 2 == 1;
        fs::create_directories(c.bundle);
        json config = {{"ociVersion", "1.0.2"}, {"root", {{"path", (dir / "rootfs").string()}}}};
        if (!c.annotation_in_state)
            config["annotations"] = {{kProfileAnnotation, "probe"}};
        write_file(c.bundle / "config.json", config.dump());
        c.cgroup = std::make_unique<TestCgroup>("rt-fake-" + std::to_string(i));
        c.process = std::make_unique<ParkedProcess>(*c.cgroup);
        expected_records.push_back(c.record_line());
        expected_cgroups.push_back(c.cgroup->id());
    }
    const PinnedMaps maps = fence.maps();

    CHECK(run_hooks_at_once(fence, containers, true) == "");
    const MapEntries entries = map_entries(maps);
    CHECK(keys_text(entries.policies) == keys_text(expected_cgroups));
    CHECK(keys_text(entries.counters) == keys_text(expected_cgroups));
    CHECK(keys_text(entries.containers) == keys_text(expected_cgroups));
    std::sort(expected_records.begin(), expected_records.end());
    CHECK(records_text(entries.records) ==
          std::accumulate(expected_records.begin(), expected_records.end(), std::string()));
    // No mount lies below the shared tree: each policy is the probe rules and
    // the rootfs directory, a boundary (the container's "/" ends every walk).
    std::string expected_policy;
    for (const ExpectedRule &rule : kProbeRules)
        expected_policy += std::string(rule.path) + " " + rule.rights + "; ";
    expected_policy += "/ - mount-boundary; rules: " + std::to_string(kProbeRules.size() + 1);
    std::string wrong_policies;
    for (const ContainerRecord &r : entries.records) {
        auto policy = read_policy(maps, r.value.cgroup);
        REQUIRE(policy.ok());
        std::string found;
        for (const ExpectedRule &rule : kProbeRules)
            found +=
                std::string(rule.path) + " " +
                rule_text(*policy, host_key(dir / "rootfs" / std::string(rule.path).substr(1))) +
                "; ";
        found += "/ " + rule_text(*policy, host_key(dir / "rootfs")) +
                 "; rules: " + std::to_string(policy->rules.size());
        if (found != expected_policy || r.value.rule_count != policy->rules.size())
            wrong_policies += std::string(r.value.id) + ": " + found +
                              " (record: " + std::to_string(r.value.rule_count) + " rules)\n";
    }
    CHECK(wrong_policies == "");

    CHECK(run_hooks_at_once(fence, containers, false) == "");
    check_no_entries(maps);
}

TEST_CASE(
    "churn: 200 containers (16 in the VM) set up and torn down, an upgrade in the middle: none "
    "lost, none leaked, no denied write let through")
{
    // CGFENCE_CHURN_CONTAINERS: fewer where each hook run is slow (the VM,
    // tests/vm/guest-suites.sh), more on demand.
    const char *scale = std::getenv("CGFENCE_CHURN_CONTAINERS");
    const int kChurned = scale ? std::max(8, std::atoi(scale)) : 200;
    constexpr int kWorkers = 8;
    Fence fence("churn", Pins::own_load); // upgraded below
    fence.write_profile("probe", probe_profile());
    TempDir dir;
    const fs::path rootfs = dir / "rootfs";
    make_busybox_tree(rootfs);
    const fs::path denied = rootfs / "etc/os-release"; // the probe profile gives /etc r only
    const std::string denied_before = read_text(denied);
    const PinnedMaps maps = fence.maps();
    const size_t policy_maps_before = policy_maps_alive();

    // Two containers live through it all, their processes writing all along.
    std::vector<FakeContainer> guards;
    guards.reserve(2);
    std::vector<std::unique_ptr<Prober>> probers;
    probers.reserve(2);
    for (int i = 0; i < 2; i++) {
        guards.push_back(fake_container("guard-" + std::to_string(i), dir.path(), rootfs));
        probers.push_back(
            std::make_unique<Prober>(*guards.back().cgroup, rootfs / "bin/busybox", denied));
        guards.back().process = nullptr;
        const json state = {{"ociVersion", "1.0.2"},
                            {"id", guards.back().id},
                            {"status", "creating"},
                            {"pid", probers.back()->pid()},
                            {"bundle", guards.back().bundle.string()}};
        REQUIRE(run_hook(fence, state.dump()) == "");
        if (in_vm())
            probers.back()->start();
    }

    std::vector<FakeContainer> churned;
    churned.reserve(static_cast<size_t>(kChurned));
    for (int i = 0; i < kChurned; i++) {
        churned.push_back(fake_container("churn-" + std::to_string(i), dir.path(), rootfs));
        churned.back().process = std::make_unique<ParkedProcess>(*churned.back().cgroup);
    }
    std::mutex lock;
    std::string failures;
    std::atomic<int> set_up{0};
    auto fail = [&](const std::string &what) {
        const std::lock_guard<std::mutex> held(lock);
        failures += what + "\n";
    };
    auto worker = [&](int first) {
        for (int i = first; i < kChurned; i += kWorkers) {
            const FakeContainer &c = churned[static_cast<size_t>(i)];
            if (auto failed = run_hook(fence, c.setup_state()); !failed.empty())
                fail(c.id + " set-up: " + failed);
            const uint64_t cgroup = c.cgroup->id();
            uint32_t inner = 0;
            if (bpf_map_lookup_elem(maps.policies.get(), &cgroup, &inner) != 0)
                fail(c.id + ": no policy after set-up");
            set_up++;
            if (auto failed = run_hook(fence, c.teardown_state()); !failed.empty())
                fail(c.id + " teardown: " + failed);
            if (bpf_map_lookup_elem(maps.policies.get(), &cgroup, &inner) == 0)
                fail(c.id + ": policy left after teardown");
        }
    };
    std::vector<std::thread> workers;
    workers.reserve(kWorkers);
    for (int w = 0; w < kWorkers; w++)
        workers.emplace_back(worker, w);
    while (set_up < kChurned / 2)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // The upgrade: another build of the program, while set-ups and teardowns go
    // on (in the VM; on the host, whose pins are maps only, a second load keeps
    // them as they are).
    std::vector<std::string> upgrade = {built_program("cgfencectl-next"), "--pin-dir",
                                        fence.pin_dir(), "load"};
    if (!in_vm())
        upgrade.push_back("--maps-only");
    // A load under TCG, beside the churn, can take a minute.
    const Finished upgraded = run_captured(upgrade, "", std::chrono::minutes(3));
    for (std::thread &t : workers)
        t.join();
    CHECK(upgraded.status == 0);
    if (in_vm())
        CHECK(upgraded.out.find("upgraded") != std::string::npos);
    CHECK(failures == "");

    const MapEntries entries = map_entries(maps);
    std::vector<uint64_t> guard_cgroups;
    guard_cgroups.reserve(guards.size());
    for (const FakeContainer &g : guards)
        guard_cgroups.push_back(g.cgroup->id());
    CHECK(keys_text(entries.policies) == keys_text(guard_cgroups));
    CHECK(keys_text(entries.counters) == keys_text(guard_cgroups));
    CHECK(keys_text(entries.containers) == keys_text(guard_cgroups));
    CHECK(entries.records.size() == guards.size());
    CHECK(policy_maps_alive() == policy_maps_before + guards.size());

    if (in_vm()) {
        for (auto &p : probers) {
            const std::string said = p->stop();
            INFO("prober said: " << said);
            CHECK(said.find("leaks=0") != std::string::npos);
            CHECK(said.find("attempts=0") == std::string::npos);
            MESSAGE("guard: " << said);
        }
        CHECK(read_text(denied) == denied_before);
    }
    for (const FakeContainer &g : guards)
        CHECK(run_hook(fence, g.teardown_state()) == "");
    check_no_entries(maps);
    CHECK(policy_maps_alive() == policy_maps_before);
    MESSAGE(kChurned << " containers churned");
}
