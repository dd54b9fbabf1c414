// Many containers set up and torn down at once, by cgfence-hook run directly
// as runtimes run it: a state on stdin, a bundle with config.json, and a real
// process in a cgroup of its own. Each container gets exactly its own
// entries, and teardown leaves none.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <numeric>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kContainers = 64;

// A process parked in `cgroup` until the end, as a container's init is at
// prestart: it joins the cgroup before the constructor returns.
class ParkedProcess {
  public:
    explicit ParkedProcess(const TestCgroup &cgroup)
    {
        int ready[2];
        int release[2];
        REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(release, O_CLOEXEC) == 0);
        const std::string procs = cgroup.path() + "/cgroup.procs";
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(release[1]);
            const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
            const bool joined = fd >= 0 && ::write(fd, "0", 1) == 1;
            const char status = joined ? 'y' : 'n';
            (void)!::write(ready[1], &status, 1);
            char byte = 0;
            (void)!::read(release[0], &byte, 1); // until the parent closes its end
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(release[0]);
        release_.reset(release[1]);
        char status = 0;
        const bool told = ::read(ready[0], &status, 1) == 1;
        ::close(ready[0]);
        REQUIRE(told);
        REQUIRE(status == 'y');
    }
    ParkedProcess(const ParkedProcess &) = delete;
    ParkedProcess &operator=(const ParkedProcess &) = delete;
    ~ParkedProcess()
    {
        release_.reset();
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    UniqueFd release_;
};

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

TEST_CASE("64 containers set up and torn down at once leave exactly their own entries, then none")
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
    CHECK(keys_text(entries.ratelimits) == keys_text(expected_cgroups));
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
