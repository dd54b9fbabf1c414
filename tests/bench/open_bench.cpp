// cgfence's cost on the paths every process takes: open()+close() of a cached
// file and execve of a small static binary, in one boot, in these states:
//   a  no program attached
//   f  empty LSM programs on the same hooks (the floor: the trampoline alone)
//   b  cgfence attached, the process in no container (a cgroup at level 2)
//   c  cgfence, the process in a registered container (level 2) with a profile
//      of 8, 64 or 512 rules; the file allowed (a rule on its top directory)
//      or denied (no rule up to the filesystem root, default deny)
//   o  c through an overlayfs mount, as a container's rootfs is
// each on a tmpfs file at depth 2 and at depth 16. Rounds interleave the
// states (the VM's timing drifts); every figure is a ratio to a baseline of
// the same run: f to a, b to f, c and o to a.
//
//   cgfence-open-bench [--rounds 7] [--samples 5] [--iterations 200000] [--execs 2000]
//                      [--profiles 8,64,512] [--depths 2,16] [--only open|exec]
//                      [--json FILE] [--pin-dir DIR]
//
// Runs as root on a kernel with BPF LSM (the VM: tests/bench/run-vm.sh).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include "bench_tree.hpp"
#include "maps.hpp"
#include "programs.hpp"
#include "report.hpp"
#include "built.hpp"

namespace fs = std::filesystem;
using namespace cgfence;
using namespace cgfence::bench;
using test::TestCgroup;

namespace {

struct Options {
    int rounds = 7;
    int samples = 5;
    long iterations = 200000;
    long execs = 2000;
    std::vector<size_t> profiles{8, 64, 512};
    std::vector<int> depths{2, 16};
    std::string only;
    std::string json;
    std::string pin_dir = "/sys/fs/bpf/cgfence-bench";
};

struct Containers {
    std::vector<std::unique_ptr<TestCgroup>> cgroups;
    std::vector<std::unique_ptr<Registration>> registrations; // withdrawn first
};

std::vector<State> make_states(const BenchTree &tree, const Options &o, const TestCgroup &outside,
                               const Containers &containers)
{
    std::vector<State> states;
    for (const Fs where : {Fs::tmpfs, Fs::overlay}) {
        const std::string fs_name = where == Fs::tmpfs ? "tmpfs" : "overlay";
        for (const int depth : o.depths) {
            State s;
            s.group = fs_name + " d" + std::to_string(depth);
            s.fs = fs_name;
            s.depth = depth;
            s.cgroup = &outside;
            s.path = tree.file(where, depth, Expect::allow);
            states.push_back(s);
            s.name = "f";
            s.programs = Programs::empty;
            s.baseline = "a";
            states.back().name = "a";
            states.push_back(s);
            s.name = "b";
            s.programs = Programs::cgfence;
            s.baseline = "f";
            states.push_back(s);
            s.baseline = "a";
            for (size_t i = 0; i < o.profiles.size(); i++) {
                for (const Expect expect : {Expect::allow, Expect::deny}) {
                    s.name = std::string(where == Fs::tmpfs ? "c/" : "o/") +
                             std::to_string(o.profiles[i]) +
                             (expect == Expect::allow ? "/allow" : "/deny");
                    s.rules = o.profiles[i];
                    s.cgroup = containers.cgroups[i].get();
                    s.path = tree.file(where, depth, expect);
                    s.expect = expect;
                    states.push_back(s);
                }
            }
        }
    }
    return states;
}

void switch_to(Programs programs, CgfencePrograms &cgfence, EmptyPrograms &empty)
{
    if (programs != Programs::cgfence)
        cgfence.detach();
    if (programs != Programs::empty)
        empty.detach();
    if (programs == Programs::cgfence)
        cgfence.attach();
    if (programs == Programs::empty)
        empty.attach();
}

// Round by round: the three program configurations in a rotating order; in
// each, `samples` passes over its states in a shuffled order, every enabled
// benchmark once per state and pass, of iterations/samples operations. Short
// samples close together make the median robust to the bursts of a busy host.
void run_rounds(std::vector<State> &states, const RunInfo &info, CgfencePrograms &cgfence,
                EmptyPrograms &empty)
{
    std::mt19937 rng(20240601);
    std::vector<Programs> order{Programs::none, Programs::empty, Programs::cgfence};
    for (int round = 0; round < info.rounds; round++) {
        const auto start = std::chrono::steady_clock::now();
        for (const Programs programs : order) {
            switch_to(programs, cgfence, empty);
            std::vector<State *> now;
            for (auto &s : states) {
                if (s.programs == programs)
                    now.push_back(&s);
            }
            for (int pass = 0; pass < info.samples; pass++) {
                std::shuffle(now.begin(), now.end(), rng);
                for (State *s : now) {
                    if (info.enabled[kOpen])
                        s->samples[kOpen].push_back(time_opens(*s->cgroup, s->path, s->expect,
                                                               info.iterations / info.samples));
                    if (info.enabled[kExec])
                        s->samples[kExec].push_back(
                            time_execs(*s->cgroup, s->path, s->expect, info.execs / info.samples));
                }
            }
        }
        std::rotate(order.begin(), order.begin() + 1, order.end());
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "cgfence-open-bench: round %d/%d done in %.1f s\n", round + 1,
                     info.rounds, seconds);
    }
    switch_to(Programs::none, cgfence, empty);
}

int run(const Options &o, const std::string &command)
{
    RunInfo info{command,      o.rounds, o.samples,
                 o.iterations, o.execs,  {o.only != "exec", o.only != "open"}};
    BenchTree tree(test::built_program("cgfence-bench-exec-chain"), o.depths);
    CgfencePrograms cgfence(o.pin_dir);
    auto maps = PinnedMaps::open(cgfence.pins());
    if (!maps)
        throw std::runtime_error(maps.error().message());
    EmptyPrograms empty;
    TestCgroup root("bench");
    TestCgroup outside(root, "outside");
    Containers containers;
    for (const size_t rules : o.profiles) {
        containers.cgroups.push_back(
            std::make_unique<TestCgroup>(root, "ctr" + std::to_string(rules)));
        containers.registrations.push_back(std::make_unique<Registration>(
            *maps, containers.cgroups.back()->id(), tree.policy(rules)));
    }
    std::vector<State> states = make_states(tree, o, outside, containers);
    std::fprintf(stderr, "cgfence-open-bench: %zu states, %zu cgfence programs, %d rounds\n",
                 states.size(), cgfence.count(), o.rounds);
    run_rounds(states, info, cgfence, empty);
    print_tables(states, info);
    print_targets(states, info);
    if (!o.json.empty()) {
        std::ofstream out(o.json);
        out << to_json(states, info).dump(1) << "\n";
        if (!out)
            throw std::runtime_error("write " + o.json);
    }
    return 0;
}

} // namespace

int bench_main(int argc, char **argv)
{
    Options o;
    CLI::App app{"cgfence's cost on open()+close() and execve, state by state (BPF LSM kernel)"};
    app.add_option("--rounds", o.rounds, "interleaved rounds")->check(CLI::PositiveNumber);
    app.add_option("--samples", o.samples, "samples per state and round")
        ->check(CLI::PositiveNumber);
    app.add_option("--iterations", o.iterations, "open()+close() per state and round")
        ->check(CLI::PositiveNumber);
    app.add_option("--execs", o.execs, "execve per state and round")->check(CLI::PositiveNumber);
    app.add_option("--profiles", o.profiles, "rules per container profile")->delimiter(',');
    app.add_option("--depths", o.depths, "depths of the file below its filesystem's root")
        ->delimiter(',')
        ->check(CLI::Range(2, 64));
    app.add_option("--only", o.only, "one benchmark")->check(CLI::IsMember({"open", "exec"}));
    app.add_option("--json", o.json, "also write the results as JSON to this file");
    app.add_option("--pin-dir", o.pin_dir, "where this run's cgfence is pinned");
    CLI11_PARSE(app, argc, argv);

    std::string command;
    for (int i = 0; i < argc; i++)
        command += (i ? " " : "") + std::string(i ? argv[i] : "cgfence-open-bench");
    return run(o, command);
}

int main(int argc, char **argv)
{
    try {
        return bench_main(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cgfence-open-bench: %s\n", e.what());
        return 1;
    }
}
