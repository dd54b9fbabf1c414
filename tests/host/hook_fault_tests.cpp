// The hook killed (SIGKILL) at its bpf() calls during set-up (every kind of
// call, see kill_points()), by strace's fault injection, against real pinned
// maps: no policy is ever left without the record that poststop and gc find
// it by, a policy is never half-built, and the runtime's next step
// (poststop, or the set-up again) leaves the maps exactly as before.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/wait.h>
#include <tuple>
#include <vector>

#include "hook_bed.hpp"

using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "BPF_MAP_UPDATE_ELEM map_fd=7" from strace's line of a bpf() call: the
// command and its first argument (a map's fd, a pinned path).
std::optional<std::string> bpf_call(const std::string &line)
{
    const size_t call = line.find("bpf(");
    if (call == std::string::npos)
        return std::nullopt;
    const size_t command = call + 4;
    const size_t brace = line.find(", {", command);
    if (brace == std::string::npos)
        return std::nullopt;
    const size_t argument = brace + 3;
    const size_t end = line.find_first_of(",}", argument);
    return line.substr(command, brace - command) + " " + line.substr(argument, end - argument);
}

// Runs the set-up hook under strace; `inject` is strace's -e inject= value,
// or empty to only count. Returns the exit status and the bpf() calls made,
// each as its command and first argument (a map's fd, a pinned path).
std::pair<int, std::vector<std::string>> traced_setup(const Scene &s, const std::string &inject)
{
    const fs::path input = s.bed.dir / "fault-state.json", trace = s.bed.dir / "fault-trace";
    write_file(input, s.valid().dump());
    // LeakSanitizer cannot run under ptrace (the ASan build's suite): off
    // for the traced hook only.
    std::string command =
        "ASAN_OPTIONS=detect_leaks=0 strace -qq -f -o " + trace.string() + " -e trace=bpf";
    if (!inject.empty())
        command += " -e inject=bpf:" + inject;
    command += " " + hook_path() + " --config " + s.bed.config + " --pin-dir " + s.bed.pins +
               " < " + input.string() + " 2>/dev/null";
    const int raw = std::system(command.c_str());
    std::vector<std::string> calls;
    std::ifstream lines(trace);
    for (std::string line; std::getline(lines, line);)
        if (auto call = bpf_call(line))
            calls.push_back(*call);
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), calls};
}

// The calls worth killing the hook at (numbered from 1, as strace's when=):
// in a run of the same command on the same map (the record slots probed one
// by one, a policy's rules written one by one) the maps are alike after each
// call but the last, so the run's first, second and last call stand for it.
std::vector<int> kill_points(const std::vector<std::string> &calls)
{
    std::vector<int> points;
    for (size_t i = 0; i < calls.size(); ++i) {
        const bool first = i == 0 || calls[i] != calls[i - 1];
        const bool second =
            i >= 1 && calls[i] == calls[i - 1] && (i == 1 || calls[i] != calls[i - 2]);
        const bool last = i + 1 == calls.size() || calls[i] != calls[i + 1];
        if (first || second || last)
            points.push_back(static_cast<int>(i) + 1);
    }
    return points;
}

// No policy without a record; a recorded policy holds all its rules.
void check_consistent(const Scene &s)
{
    for (const auto &c : json::parse(s.bed.ctl("--json ps"))) {
        CAPTURE(c.dump());
        CHECK_FALSE(c["id"].is_null());
        if (c["policy"] == true && !c["id"].is_null()) {
            const json shown = json::parse(s.bed.ctl("--json show " + c["id"].get<std::string>()));
            CHECK(shown["kernel_rules"].size() == c["rules"].get<size_t>());
        }
    }
}

} // namespace

TEST_CASE("the hook killed at every kind of bpf() call of a set-up leaves the maps consistent and "
          "recoverable")
{
    std::vector<std::string> calls;
    {
        Scene s;
        int status = 0;
        std::tie(status, calls) = traced_setup(s, "");
        REQUIRE(status == 0);
        REQUIRE(s.bed.hook(s.bed.state("target", "stopped", 0)) == 0);
    }
    REQUIRE(calls.size() > 5);
    const std::vector<int> points = kill_points(calls);
    for (const int n : points) {
        CAPTURE(n);
        CAPTURE(calls[n - 1]);
        Scene s;
        const auto [status, made] = traced_setup(s, "signal=KILL:when=" + std::to_string(n));
        CHECK(status == 128 + SIGKILL);
        CHECK(made.size() == static_cast<size_t>(n));
        check_consistent(s);
        // What a runtime does after a failed prestart: poststop.
        CHECK(s.bed.hook(s.bed.state("target", "stopped", 0)) == 0);
        CHECK(s.bed.snapshot() == s.before);
        // And the same container can be set up again, completely.
        CHECK(s.bed.hook(s.valid()) == 0);
        check_consistent(s);
        CHECK(s.bed.hook(s.bed.state("target", "stopped", 0)) == 0);
        CHECK(s.bed.snapshot() == s.before);
    }
    MESSAGE("killed at " << points.size() << " of its " << calls.size() << " bpf() calls");
}
