// Benchmark 5: `runc run` of a busybox container to its exit, with and
// without cgfence-hook (prestart and poststop, profile `minimal`), the two
// interleaved round by round. On the host the hook writes real maps of a
// `load --maps-only`; in the VM cgfence is loaded and enforces.
//
//   cgfence-runc-bench [--rounds 30]
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bundle.hpp"
#include "fence.hpp"
#include "hook_runner.hpp"

using namespace cgfence;
using namespace cgfence::bench;

namespace {

int run(int rounds)
{
    const test::Fence fence("runc-bench");
    fence.write_shipped_profile("minimal");
    // Busybox bundles whose process is /bin/true.
    test::Bundle plain;
    plain.args({"/bin/true"}).write();
    test::Bundle hooked;
    hooked.args({"/bin/true"})
        .annotate("io.cgfence.profile", "minimal")
        .hook(fence.hook(), {"prestart", "poststop"})
        .write();
    const test::TempDir state;
    const auto runc_run = [&](const test::Bundle &bundle, const std::string &id) {
        return timed_run({"/usr/bin/env", "runc", "--root", state.path().string(), "run",
                          "--bundle", bundle.dir().string(), id},
                         "");
    };
    std::vector<double> without, with, ratios;
    for (int r = 0; r < rounds; r++) {
        without.push_back(runc_run(plain, "bench-plain"));
        with.push_back(runc_run(hooked, "bench-hooked"));
        ratios.push_back(with.back() / without.back());
    }
    const Spread a = spread(without), b = spread(with), q = spread(ratios);
    std::printf("# 5: runc run of busybox /bin/true to its exit, %d rounds interleaved, ms "
                "median [p10, p90]\n",
                rounds);
    std::printf("%-16s %s\n", "without the hook", show_ms(a).c_str());
    std::printf("%-16s %s\n", "with the hook", show_ms(b).c_str());
    std::printf("with/without     %.3fx (round ratios %.3f [%.3f, %.3f])\n", b.median / a.median,
                q.median, q.p10, q.p90);
    const double ratio = b.median / a.median;
    std::printf("target 5   runc run with / without the hook: %.3fx  limit 1.10x  %s\n", ratio,
                ratio <= 1.10 ? "met" : "MISSED");
    return 0;
}

} // namespace

int bench_main(int argc, char **argv)
{
    int rounds = 30;
    CLI::App app{"runc run with and without cgfence-hook"};
    app.add_option("--rounds", rounds, "interleaved rounds")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    return run(rounds);
}

int main(int argc, char **argv)
{
    try {
        return bench_main(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cgfence-runc-bench: %s\n", e.what());
        return 1;
    }
}
