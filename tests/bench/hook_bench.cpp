// Benchmarks 3, 4 and 6, on the host against real pinned maps (`load
// --maps-only`: the host's kernel need not run BPF LSM):
//   3  cgfence-hook setup and teardown wall time (fork, exec, work, exit) for
//      profiles of N rules, next to spawning /bin/true, interleaved round by round;
//   4  teardown of a 64-rule container with 0 and with N other containers
//      registered (0 measured before and again after, to show drift);
//   6  kernel memory of a registered container: its policy map's memlock as the
//      kernel reports it in fdinfo (what `bpftool map show` prints), and the
//      fixed memory of the shared maps.
// Median and 10th-90th percentile of the rounds.
//
//   cgfence-hook-bench [--rounds 50] [--rules 8,64,512,4096,16384] [--others 1000]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <bpf/bpf.h>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sys/mount.h>
#include <unistd.h>

#include "hook_runner.hpp"
#include "maps.hpp"
#include "parked_process.hpp"
#include "built.hpp"

namespace fs = std::filesystem;
using namespace cgfence;
using namespace cgfence::bench;
using test::TestCgroup;

namespace {

struct Options {
    int rounds = 50;
    std::vector<size_t> rules{8, 64, 512, 4096, 16384};
    size_t others = 1000;
};

// The memlock bytes of a map fd, as the kernel reports them in fdinfo.
long long memlock_of(int fd)
{
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
    for (std::string line; std::getline(info, line);) {
        if (line.rfind("memlock:", 0) == 0)
            return std::stoll(line.substr(8));
    }
    throw std::runtime_error("no memlock in fdinfo of a map");
}

// The memlock of the policy map registered for `cgroup_id`.
long long policy_memlock(const PinnedMaps &maps, uint64_t cgroup_id)
{
    uint32_t inner_id = 0;
    if (::bpf_map_lookup_elem(maps.policies.get(), &cgroup_id, &inner_id) != 0)
        throw std::runtime_error("no policy registered for the benchmark's cgroup");
    UniqueFd inner(::bpf_map_get_fd_by_id(inner_id));
    if (!inner)
        throw std::runtime_error("open the policy map by id: " + std::string(std::strerror(errno)));
    return memlock_of(inner.get());
}

struct HookSizes {
    size_t rules;
    Spread setup, teardown, baseline;
    long long memory;
};

// Benchmarks 3 and 6: the hook's stages per profile size, /bin/true beside them.
std::vector<HookSizes> time_sizes(const Options &o, const std::string &pin_dir,
                                  const PinnedMaps &maps, const TestCgroup &cgroup, pid_t pid)
{
    std::vector<HookSizes> results;
    for (const size_t rules : o.rules) {
        const HookFixture fixture(rules);
        const Hook hook(pin_dir, fixture);
        const std::string id = "bench-" + std::to_string(rules);
        std::vector<double> setup, teardown, baseline;
        long long memory = 0;
        for (int r = 0; r < o.rounds; r++) {
            baseline.push_back(timed_run({"/bin/true"}, ""));
            setup.push_back(hook.run(hook.creating(id, pid)));
            if (r == 0)
                memory = policy_memlock(maps, cgroup.id());
            teardown.push_back(hook.run(hook.stopped(id)));
        }
        results.push_back({rules, spread(setup), spread(teardown), spread(baseline), memory});
    }
    return results;
}

// The floor of a policy's publication and withdrawal: an update and a delete
// of a hash-of-maps entry (the kernel waits for an RCU grace period after
// each, so that no program still sees the old value), next to the same on a
// plain hash. Microseconds per update+delete pair, median.
struct MapWriteFloor {
    double map_in_map_us, hash_us;
};

MapWriteFloor time_map_writes(int rounds)
{
    UniqueFd inner(::bpf_map_create(BPF_MAP_TYPE_HASH, "bench_inner", 8, 8, 1, nullptr));
    LIBBPF_OPTS(bpf_map_create_opts, outer_opts, .inner_map_fd = static_cast<__u32>(inner.get()));
    UniqueFd outer(
        ::bpf_map_create(BPF_MAP_TYPE_HASH_OF_MAPS, "bench_outer", 8, 4, 1, &outer_opts));
    UniqueFd plain(::bpf_map_create(BPF_MAP_TYPE_HASH, "bench_plain", 8, 8, 1, nullptr));
    if (!inner || !outer || !plain)
        throw std::runtime_error("bpf_map_create: " + std::string(std::strerror(errno)));
    const auto time_pairs = [&](int fd, const void *value) {
        std::vector<double> samples;
        const uint64_t key = 1;
        for (int r = 0; r < rounds; r++) {
            const auto start = std::chrono::steady_clock::now();
            if (::bpf_map_update_elem(fd, &key, value, BPF_ANY) != 0 ||
                ::bpf_map_delete_elem(fd, &key) != 0)
                throw std::runtime_error("map write: " + std::string(std::strerror(errno)));
            samples.push_back(
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count());
        }
        return spread(samples).median;
    };
    const int inner_fd = inner.get();
    const uint64_t zero = 0;
    return {time_pairs(outer.get(), &inner_fd), time_pairs(plain.get(), &zero)};
}

// Target 3: setup of 64 rules at most 5x /bin/true; the cost of a rule does
// not grow with the profile (the marginal cost per rule of each step up).
void print_hook_targets(const std::vector<HookSizes> &sizes)
{
    for (const auto &s : sizes) {
        if (s.rules != 64)
            continue;
        const double ratio = s.setup.median / s.baseline.median;
        std::printf("target 3   setup of 64 rules / /bin/true: %.1fx  limit 5x  %s\n", ratio,
                    ratio <= 5 ? "met" : "MISSED");
    }
    std::vector<double> marginal;
    for (size_t i = 1; i < sizes.size(); i++) {
        marginal.push_back((sizes[i].setup.median - sizes[i - 1].setup.median) /
                           static_cast<double>(sizes[i].rules - sizes[i - 1].rules));
        std::printf("target 3   marginal setup cost %zu -> %zu rules: %.2f us per rule\n",
                    sizes[i - 1].rules, sizes[i].rules, marginal.back());
    }
    // The small steps drown in the grace period's jitter (several ms): the
    // two largest steps tell whether a rule costs more in a larger profile.
    if (marginal.size() >= 2) {
        const double last = marginal.back(), before = marginal[marginal.size() - 2];
        std::printf(
            "target 3   cost per rule, last step / the one before: %.2fx  limit 1.50x  %s\n",
            last / before, last <= 1.5 * before ? "met" : "MISSED");
    }
}

// Benchmark 4: teardown of a 64-rule container, `rounds` set-up/teardown pairs.
std::vector<double> time_teardowns(const Hook &hook, int rounds, pid_t pid)
{
    std::vector<double> teardown;
    for (int r = 0; r < rounds; r++) {
        hook.run(hook.creating("bench-teardown", pid));
        teardown.push_back(hook.run(hook.stopped("bench-teardown")));
    }
    return teardown;
}

// `count` other containers, each registered through the hook for a cgroup of
// its own (one parked process moved from cgroup to cgroup), withdrawn at the end.
class OtherContainers {
  public:
    OtherContainers(const std::string &pin_dir, const TestCgroup &parent, size_t count)
        : fixture_(1), hook_(pin_dir, fixture_)
    {
        for (size_t i = 0; i < count; i++) {
            cgroups_.push_back(std::make_unique<TestCgroup>(parent, "other" + std::to_string(i)));
            if (!parked_)
                parked_ = std::make_unique<test::ParkedProcess>(*cgroups_.back());
            else
                parked_->move_to(*cgroups_.back());
            hook_.run(hook_.creating("other-" + std::to_string(i), parked_->pid()));
        }
    }
    OtherContainers(const OtherContainers &) = delete;
    OtherContainers &operator=(const OtherContainers &) = delete;
    ~OtherContainers()
    {
        for (size_t i = 0; i < cgroups_.size(); i++) {
            try {
                hook_.run(hook_.stopped("other-" + std::to_string(i)));
            } catch (const std::exception &e) {
                std::fprintf(stderr, "cgfence-hook-bench: %s\n", e.what());
            }
        }
    }

  private:
    HookFixture fixture_;
    Hook hook_;
    std::vector<std::unique_ptr<TestCgroup>> cgroups_;
    std::unique_ptr<test::ParkedProcess> parked_; // killed before its cgroups go
};

int run(const Options &o)
{
    test::TempDir bpffs;
    if (::mount("bpf", bpffs.path().c_str(), "bpf", 0, nullptr) != 0)
        throw std::runtime_error("mount bpffs: " + std::string(std::strerror(errno)));
    struct Unmount {
        const fs::path &path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{bpffs.path()};
    const std::string pin_dir = (bpffs / "cgfence").string();
    if (test::run_program({test::cgfencectl_path(), "--pin-dir", pin_dir, "load", "--maps-only"},
                          true) != 0)
        throw std::runtime_error("cgfencectl load --maps-only failed");
    auto maps = PinnedMaps::open(PinLayout{pin_dir});
    if (!maps)
        throw std::runtime_error(maps.error().message());

    TestCgroup root("hook-bench");
    TestCgroup container(root, "container");
    const test::ParkedProcess process(container);

    std::printf("# 3, 6: cgfence-hook per profile size, %d rounds interleaved with /bin/true;\n"
                "# wall time in ms, median [p10, p90]; memory: the policy map's memlock\n",
                o.rounds);
    std::printf("%-6s %-22s %-22s %-22s %-10s %-9s %s\n", "rules", "setup", "teardown", "/bin/true",
                "setup/true", "us/rule", "policy map");
    const auto sizes = time_sizes(o, pin_dir, *maps, container, process.pid());
    for (const auto &s : sizes) {
        std::printf("%-6zu %-22s %-22s %-22s %9.1fx %9.2f %7lld KiB\n", s.rules,
                    show_ms(s.setup).c_str(), show_ms(s.teardown).c_str(),
                    show_ms(s.baseline).c_str(), s.setup.median / s.baseline.median,
                    (s.setup.median - s.baseline.median) / static_cast<double>(s.rules),
                    s.memory / 1024);
    }
    print_hook_targets(sizes);
    const MapWriteFloor floor = time_map_writes(o.rounds);
    std::printf("floor: one map-in-map update + delete %.2f ms (a plain hash's: %.1f us)\n",
                floor.map_in_map_us / 1000, floor.hash_us);
    long long shared = 0;
    for (const int fd : {maps->policies.get(), maps->counters.get(), maps->containers.get(),
                         maps->events.get(), maps->records.get(), maps->meta.get()})
        shared += memlock_of(fd);
    std::printf("shared maps (fixed at load, for %d containers): %lld KiB\n",
                CGFENCE_MAX_CONTAINERS, shared / 1024);

    const HookFixture fixture(64);
    const Hook hook(pin_dir, fixture);
    const Spread before = spread(time_teardowns(hook, o.rounds, process.pid()));
    Spread with_others{};
    {
        const OtherContainers others(pin_dir, root, o.others);
        with_others = spread(time_teardowns(hook, o.rounds, process.pid()));
    }
    const Spread after = spread(time_teardowns(hook, o.rounds, process.pid()));
    std::printf("\n# 4: teardown of a 64-rule container, %d rounds each, ms median [p10, p90]\n",
                o.rounds);
    std::printf("%-24s %s\n", "0 others (before)", show_ms(before).c_str());
    std::printf("%-24s %s   %.2fx of before\n", (std::to_string(o.others) + " others").c_str(),
                show_ms(with_others).c_str(), with_others.median / before.median);
    std::printf("%-24s %s\n", "0 others (after)", show_ms(after).c_str());
    const double scaling = with_others.median / std::max(before.median, after.median);
    std::printf("target 4   teardown with %zu others / without: %.2fx  limit 1.50x  %s\n", o.others,
                scaling, scaling <= 1.5 ? "met" : "MISSED");
    return 0;
}

} // namespace

int bench_main(int argc, char **argv)
{
    Options o;
    CLI::App app{"cgfence-hook latency, teardown scaling and memory per container (host)"};
    app.add_option("--rounds", o.rounds, "rounds per figure")->check(CLI::PositiveNumber);
    app.add_option("--rules", o.rules, "profile sizes")->delimiter(',');
    app.add_option("--others", o.others, "other containers registered for benchmark 4");
    CLI11_PARSE(app, argc, argv);
    return run(o);
}

int main(int argc, char **argv)
{
    try {
        return bench_main(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cgfence-hook-bench: %s\n", e.what());
        return 1;
    }
}
