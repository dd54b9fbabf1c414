// The hook killed (SIGKILL) at each of its bpf() calls during set-up, by
// strace's fault injection, against real pinned maps: no policy is ever left
// without the record that poststop and gc find it by, a policy is never
// half-built, and the runtime's next step (poststop, or the set-up again)
// leaves the maps exactly as before.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "hook_bed.hpp"

using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Runs the set-up hook under strace; `inject` is strace's -e inject= value,
// or empty to only count. Returns the exit status and the bpf() call count.
std::pair<int, int> traced_setup(const Scene &s, const std::string &inject)
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
    int calls = 0;
    std::ifstream lines(trace);
    for (std::string line; std::getline(lines, line);)
        calls += line.find("bpf(") != std::string::npos ? 1 : 0;
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), calls};
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

TEST_CASE("the hook killed at each bpf() call of a set-up leaves the maps consistent and "
          "recoverable")
{
    int calls = 0;
    {
        Scene s;
        const auto [status, counted] = traced_setup(s, "");
        REQUIRE(status == 0);
        calls = counted;
        REQUIRE(s.bed.hook(s.bed.state("target", "stopped", 0)) == 0);
    }
    REQUIRE(calls > 5);
    for (int n = 1; n <= calls; ++n) {
        CAPTURE(n);
        Scene s;
        const auto [status, counted] = traced_setup(s, "signal=KILL:when=" + std::to_string(n));
        CHECK(status == 128 + SIGKILL);
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
    MESSAGE("killed at each of " << calls << " bpf() calls");
}
