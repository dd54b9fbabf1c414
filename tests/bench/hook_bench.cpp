// cgfence-hook latency: setup and teardown wall time (fork, exec, work, exit)
// for profiles of N rules, next to spawning /bin/true, measured side by side
// in one run against real pinned maps (`load --maps-only`: the host's kernel
// need not run BPF LSM). Median and spread of many repetitions, interleaved.
//
//   cgfence-hook-bench [--rounds N] [--rules 8,64,512,4096]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "sandbox.hpp"

namespace fs = std::filesystem;
using cgfence::test::TempDir;
using cgfence::test::TestCgroup;
using Clock = std::chrono::steady_clock;

namespace {

const std::string bin_dir = CGFENCE_BIN_DIR;

// Runs argv with `input` on stdin; wall time in microseconds, or -1 on failure.
double timed_run(const std::vector<std::string> &argv, const std::string &input)
{
    int in[2];
    if (::pipe(in) != 0)
        return -1;
    const auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::close(in[0]);
        ::close(in[1]);
        std::vector<char *> args;
        args.reserve(argv.size() + 1);
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(in[0]);
    if (!input.empty() && ::write(in[1], input.data(), input.size()) < 0)
        return -1;
    ::close(in[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? us : -1;
}

struct Stats {
    double median, p10, p90;
};

Stats stats(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
    };
    return {at(0.5), at(0.1), at(0.9)};
}

// A bundle whose rootfs holds `rules` files and a profile with a rule each.
struct Fixture {
    TempDir dir;
    std::string profile_dir = (dir / "profiles").string();
    std::string bundle = (dir / "bundle").string();
    explicit Fixture(size_t rules)
    {
        fs::create_directories(dir / "bundle/rootfs/files");
        fs::create_directories(profile_dir);
        nlohmann::json list = nlohmann::json::array();
        for (size_t i = 0; i < rules; i++) {
            const std::string name = "/files/f" + std::to_string(i);
            std::ofstream(bundle + "/rootfs" + name) << "x";
            list.push_back({{"path", name}, {"access", i % 2 ? "r" : "rw"}});
        }
        std::ofstream(profile_dir + "/bench.json")
            << nlohmann::json{{"default", "deny"}, {"rules", list}}.dump();
        std::ofstream(bundle + "/config.json") << nlohmann::json{
            {"ociVersion", "1.0.2"},
            {"root", {{"path", "rootfs"}}},
            {"annotations",
             {{"io.cgfence.profile", "bench"}}}}.dump();
    }
};

} // namespace

namespace {

int run(int argc, char **argv)
{
    int rounds = 50;
    std::vector<size_t> sizes = {8, 64, 512, 4096};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--rounds") == 0)
            rounds = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--rules") == 0) {
            sizes.clear();
            for (const auto &part : {std::string(argv[i + 1])}) {
                size_t start = 0;
                while (start < part.size()) {
                    size_t comma = part.find(',', start);
                    sizes.push_back(std::stoul(part.substr(start, comma - start)));
                    start = comma == std::string::npos ? part.size() : comma + 1;
                }
            }
        }
    }
    TempDir bpffs;
    if (::mount("bpf", bpffs.path().c_str(), "bpf", 0, nullptr) != 0) {
        std::perror("mount bpffs");
        return 1;
    }
    const std::string pin_dir = (bpffs / "cgfence").string();
    if (cgfence::test::run_program(
            {bin_dir + "/cgfencectl", "--pin-dir", pin_dir, "load", "--maps-only"}, true) != 0)
        return 1;
    TempDir config_dir;
    const std::string config = (config_dir / "config.json").string();
    std::ofstream(config) << R"({"on_unavailable": "allow", "log_level": "error"})";

    // A real process in a cgroup of its own: the "container".
    TestCgroup cgroup("bench");
    pid_t container = ::fork();
    if (container == 0) {
        std::ofstream(cgroup.path() + "/cgroup.procs") << "0";
        ::pause();
        ::_exit(0);
    }
    ::usleep(100000);

    std::printf(
        "# cgfence-hook latency, %d rounds interleaved, wall time in ms (median [p10, p90])\n",
        rounds);
    std::printf("%-14s %-26s %-26s %-26s\n", "rules", "setup", "teardown", "/bin/true");
    for (size_t rules : sizes) {
        Fixture fixture(rules);
        const std::vector<std::string> hook = {
            bin_dir + "/cgfence-hook", "--config",         config, "--pin-dir", pin_dir,
            "--profile-dir",           fixture.profile_dir};
        const std::string id = "bench-" + std::to_string(rules);
        const std::string creating = nlohmann::json{
            {"ociVersion", "1.0.2"},
            {"id", id},
            {"status", "creating"},
            {"pid", container},
            {"bundle", fixture.bundle}}.dump();
        const std::string stopped = nlohmann::json{
            {"ociVersion", "1.0.2"},
            {"id", id},
            {"status", "stopped"},
            {"bundle", fixture.bundle}}.dump();
        std::vector<double> setup, teardown, baseline;
        for (int r = 0; r < rounds; r++) {
            baseline.push_back(timed_run({"/bin/true"}, ""));
            setup.push_back(timed_run(hook, creating));
            teardown.push_back(timed_run(hook, stopped));
        }
        if (std::find(setup.begin(), setup.end(), -1) != setup.end() ||
            std::find(teardown.begin(), teardown.end(), -1) != teardown.end()) {
            std::fprintf(stderr, "a hook run failed (rules=%zu)\n", rules);
            return 1;
        }
        auto show = [](const Stats &s) {
            char text[64];
            std::snprintf(text, sizeof(text), "%7.2f [%6.2f, %6.2f]", s.median / 1000, s.p10 / 1000,
                          s.p90 / 1000);
            return std::string(text);
        };
        const Stats s = stats(setup), t = stats(teardown), b = stats(baseline);
        std::printf("%-14zu %-26s %-26s %-26s setup/true %.1fx, per rule %.1f us\n", rules,
                    show(s).c_str(), show(t).c_str(), show(b).c_str(), s.median / b.median,
                    (s.median - b.median) / static_cast<double>(rules));
    }
    ::kill(container, SIGKILL);
    ::waitpid(container, nullptr, 0);
    ::umount2(bpffs.path().c_str(), MNT_DETACH);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cgfence-hook-bench: %s\n", e.what());
        return 1;
    }
}
