#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sys/utsname.h>

namespace cgfence::bench {

namespace {

struct Summary {
    double median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v)
{
    if (v.empty())
        return {};
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {median, v.front(), v.back()};
}

const State *find(const std::vector<State> &states, const std::string &group,
                  const std::string &name)
{
    for (const auto &s : states) {
        if (s.group == group && s.name == name)
            return &s;
    }
    return nullptr;
}

struct Ratio {
    double of_medians = 0;
    Summary rounds; // the same round's sample over the baseline's, round by round
};

// Rounds are interleaved, so a round's ratio (of the medians of its samples)
// compares measurements taken close together in time: its spread is the one
// that matters under drift.
Ratio ratio(const std::vector<State> &states, const State &s, Bench bench, int per_round)
{
    const State *base = find(states, s.group, s.baseline);
    if (!base || base->samples[bench].size() != s.samples[bench].size())
        return {};
    const auto round_median = [&](const std::vector<double> &v, size_t r) {
        const auto first = v.begin() + static_cast<long>(r) * per_round;
        return summarize(std::vector<double>(first, first + per_round)).median;
    };
    std::vector<double> ratios;
    for (size_t r = 0; r < s.samples[bench].size() / static_cast<size_t>(per_round); r++)
        ratios.push_back(round_median(s.samples[bench], r) / round_median(base->samples[bench], r));
    return {summarize(s.samples[bench]).median / summarize(base->samples[bench]).median,
            summarize(ratios)};
}

std::string kernel_release()
{
    utsname u{};
    return ::uname(&u) == 0 ? u.release : "unknown";
}

std::string utc_now()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string label()
{
    const char *l = std::getenv("CGFENCE_VM_KERNEL");
    return l ? l : "host";
}

const char *title(Bench bench)
{
    return bench == kOpen ? "open()+close() of a cached file" : "execve of a small static binary";
}

} // namespace

void print_tables(const std::vector<State> &states, const RunInfo &info)
{
    std::printf("cgfence-open-bench: kernel %s (%s), %s\n", kernel_release().c_str(),
                label().c_str(), utc_now().c_str());
    std::printf("command: %s\n", info.command.c_str());
    for (int b = 0; b < kBenches; b++) {
        const auto bench = static_cast<Bench>(b);
        if (!info.enabled[bench])
            continue;
        std::printf("\n%s: %d rounds x %d samples of %ld each, ns per operation\n", title(bench),
                    info.rounds, info.samples, bench == kOpen ? info.iterations : info.execs);
        std::printf("%-11s %-15s %10s %21s %8s %-4s %15s\n", "group", "state", "median", "min-max",
                    "ratio", "to", "round ratios");
        std::string group;
        for (const auto &s : states) {
            if (s.group != group && !group.empty())
                std::printf("\n");
            group = s.group;
            const Summary sum = summarize(s.samples[bench]);
            char range[48];
            std::snprintf(range, sizeof(range), "%.0f-%.0f", sum.min, sum.max);
            std::printf("%-11s %-15s %10.0f %21s", s.group.c_str(), s.name.c_str(), sum.median,
                        range);
            if (s.baseline.empty()) {
                std::printf("\n");
                continue;
            }
            if (bench == kExec && s.expect == Expect::deny) {
                // A refused execve stops before loading anything: no ratio to
                // a completed one means anything.
                std::printf(" %8s\n", "refused");
                continue;
            }
            const Ratio r = ratio(states, s, bench, info.samples);
            std::printf(" %8.3f %-4s %7.3f-%.3f\n", r.of_medians, s.baseline.c_str(), r.rounds.min,
                        r.rounds.max);
        }
    }
    std::fflush(stdout);
}

void print_targets(const std::vector<State> &states, const RunInfo &info)
{
    const auto line = [](const char *target, const State &s, const Ratio &r, double limit) {
        std::printf("target %-3s %-10s %-13s %-6s %6.3fx (rounds %.3f-%.3f)  limit %.2fx  %s\n",
                    target, s.group.c_str(), s.name.c_str(), s.baseline.c_str(), r.of_medians,
                    r.rounds.min, r.rounds.max, limit, r.of_medians <= limit ? "met" : "MISSED");
    };
    std::printf("\n");
    for (int b = 0; b < kBenches; b++) {
        const auto bench = static_cast<Bench>(b);
        if (!info.enabled[bench])
            continue;
        for (const auto &s : states) {
            if (s.name == "b")
                line(bench == kOpen ? "1b" : "2b", s, ratio(states, s, bench, info.samples), 1.05);
            // 1c: a container's open() at depth 16 on a plain filesystem.
            if (bench == kOpen && s.fs == "tmpfs" && s.depth == 16 && s.name.rfind("c/", 0) == 0 &&
                (s.rules == 64 || s.rules == 512))
                line("1c", s, ratio(states, s, bench, info.samples), s.rules == 64 ? 1.15 : 1.20);
        }
    }
    std::fflush(stdout);
}

nlohmann::json to_json(const std::vector<State> &states, const RunInfo &info)
{
    nlohmann::json out = {
        {"kernel", kernel_release()},
        {"label", label()},
        {"date", utc_now()},
        {"command", info.command},
        {"rounds", info.rounds},
        {"samples_per_round", info.samples},
        {"iterations", info.iterations},
        {"execs", info.execs},
        {"benchmarks", nlohmann::json::object()},
    };
    for (int b = 0; b < kBenches; b++) {
        const auto bench = static_cast<Bench>(b);
        if (!info.enabled[bench])
            continue;
        nlohmann::json rows = nlohmann::json::array();
        for (const auto &s : states) {
            const Summary sum = summarize(s.samples[bench]);
            nlohmann::json row = {
                {"group", s.group},
                {"state", s.name},
                {"fs", s.fs},
                {"depth", s.depth},
                {"rules", s.rules},
                {"expect", s.expect == Expect::allow ? "allow" : "deny"},
                {"samples_ns", s.samples[bench]},
                {"median_ns", sum.median},
                {"min_ns", sum.min},
                {"max_ns", sum.max},
                {"baseline", s.baseline},
            };
            if (!s.baseline.empty()) {
                const Ratio r = ratio(states, s, bench, info.samples);
                row["ratio"] = r.of_medians;
                row["round_ratio_min"] = r.rounds.min;
                row["round_ratio_max"] = r.rounds.max;
            }
            rows.push_back(row);
        }
        out["benchmarks"][bench == kOpen ? "open" : "exec"] = rows;
    }
    return out;
}

} // namespace cgfence::bench
