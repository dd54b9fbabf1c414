// What the host benchmarks time: a program run to its exit (fork, exec, its
// work, exit), and cgfence-hook's setup and teardown of one container against
// the pin directory of a `load --maps-only`.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

#include "sandbox.hpp"

namespace cgfence::bench {

// Wall time in microseconds of `argv` run with `input` on its stdin; throws
// when it fails (a benchmark of a failed run measures something else).
double timed_run(const std::vector<std::string> &argv, const std::string &input);

struct Spread {
    double median, p10, p90;
};
Spread spread(std::vector<double> samples);
// "median [p10, p90]" in milliseconds.
std::string show_ms(const Spread &s);

// A bundle whose rootfs holds `rules` files, and a profile "bench" with a rule
// for each (half r, half rw, default deny).
class HookFixture {
  public:
    explicit HookFixture(size_t rules);
    [[nodiscard]] std::string profile_dir() const { return (dir_ / "profiles").string(); }
    [[nodiscard]] std::string bundle() const { return (dir_ / "bundle").string(); }

  private:
    test::TempDir dir_;
};

// cgfence-hook against `pin_dir`, with a config that runs on a kernel without
// BPF LSM (maps only).
class Hook {
  public:
    Hook(std::string pin_dir, const HookFixture &fixture);
    // The OCI states of container `id` at prestart (its process `pid`) and poststop.
    [[nodiscard]] std::string creating(const std::string &id, pid_t pid) const;
    [[nodiscard]] std::string stopped(const std::string &id) const;
    // Microseconds of one run at a stage.
    double run(const std::string &state) const;

  private:
    test::TempDir config_dir_;
    std::vector<std::string> argv_;
    std::string bundle_;
};

} // namespace cgfence::bench
