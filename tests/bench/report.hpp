// The benchmark's states and what is printed of them: a table per benchmark
// (median ns per operation over every sample, their min-max, ratio of medians to the
// state's baseline and the range of that ratio round by round) and JSON for
// the RESULTS.md generator.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sandbox.hpp"
#include "workload.hpp"

namespace cgfence::bench {

enum class Programs { none, empty, cgfence };
enum Bench { kOpen, kExec, kBenches };

struct State {
    std::string group; // filesystem and depth: "tmpfs d16"
    std::string name;  // a, f, b, c/<rules>/<allow|deny>, o/<rules>/<allow|deny>
    std::string fs;    // tmpfs | overlay
    int depth = 0;
    size_t rules = 0; // 0 outside containers
    Programs programs = Programs::none;
    const test::TestCgroup *cgroup = nullptr;
    std::string path;
    Expect expect = Expect::allow;
    std::string baseline;                              // a state of the same group; empty for none
    std::array<std::vector<double>, kBenches> samples; // ns per op, round after round
};

struct RunInfo {
    std::string command;
    int rounds = 0;
    int samples = 1; // per state and round
    long iterations = 0;
    long execs = 0;
    std::array<bool, kBenches> enabled{};
};

void print_tables(const std::vector<State> &states, const RunInfo &info);
// One line per performance target the run measured (RESULTS.md lists them):
// "target 1b ... met" or "... MISSED".
void print_targets(const std::vector<State> &states, const RunInfo &info);
nlohmann::json to_json(const std::vector<State> &states, const RunInfo &info);

} // namespace cgfence::bench
