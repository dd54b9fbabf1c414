// Programs the runtime suite runs (runtimes, cgfence-hook, cgfencectl): input
// given, output captured, time bounded. Output goes to memory files rather
// than pipes, so a detached container that inherits them never keeps a reader
// waiting for end of file.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

#include "unique_fd.hpp"

namespace cgfence::test {

using namespace std::chrono_literals;

inline constexpr std::chrono::milliseconds kProgramTimeout = 120s;
inline constexpr int kTimedOut = 124; // the status of a program killed for taking too long

struct Finished {
    int status = -1; // exit code, 128 + signal, or kTimedOut
    std::string out;
    std::string err;
};

// "exit N", then ", stdout: ..." and ", stderr: ..." when not empty: one
// string to compare, so a failed check shows everything the program said.
std::string summary(const Finished &finished);
// "exit N", then ", stderr: ..." when not empty: for programs whose stdout is checked apart.
std::string outcome(const Finished &finished);

// A program started with `input` on its stdin (then closed).
class Spawned {
  public:
    explicit Spawned(const std::vector<std::string> &argv, const std::string &input = "");
    Spawned(Spawned &&other) noexcept;
    Spawned &operator=(Spawned &&) = delete;
    Spawned(const Spawned &) = delete;
    Spawned &operator=(const Spawned &) = delete;
    ~Spawned(); // kills it when it was not waited for

    // Waits for it to end; past `timeout` it is killed (status kTimedOut). One
    // that does not end even then is left behind, its kernel stacks in `err`.
    Finished wait(std::chrono::milliseconds timeout = kProgramTimeout);

  private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    UniqueFd out_;
    UniqueFd err_;
};

// Runs a program to its end.
Finished run_captured(const std::vector<std::string> &argv, const std::string &input = "",
                      std::chrono::milliseconds timeout = kProgramTimeout);

// Polls `done` every 20 ms until it is true or `timeout` passed; whether it became true.
template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = 30s)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        ::usleep(20000);
    }
    return true;
}

} // namespace cgfence::test
