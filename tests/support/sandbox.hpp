// Real cgroups, processes and files for tests: a scoped process makes the
// syscall inside a test cgroup and reports its errno.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "object_key.hpp"

namespace cgfence::test {

// Where cgroup2 is mounted (from mountinfo; never assumed).
std::string cgroup2_mount();

// A cgroup made for one test, removed (with anything left in it killed) at
// the end.
class TestCgroup {
  public:
    explicit TestCgroup(const std::string &name);
    TestCgroup(const TestCgroup &parent, const std::string &name);
    TestCgroup(const TestCgroup &) = delete;
    TestCgroup &operator=(const TestCgroup &) = delete;
    ~TestCgroup();

    [[nodiscard]] const std::string &path() const { return path_; }
    [[nodiscard]] uint64_t id() const { return id_; }

  private:
    void create();
    std::string path_;
    uint64_t id_ = 0;
};

// A file whose exec fails (ENOEXEC) after the kernel checked it: execing it
// in a registered container's cgroup gives the task the container's mark, as
// a container's first exec does, and the task goes on with its body.
const std::filesystem::path &arming_file();

// Execs arming_file(); the caller goes on (exits with 251 when the exec
// failed otherwise than it must), marked, with its exec pending for good:
// the container's other tasks cannot reach into it.
void exec_arming_file();

// Arms the caller as a completed exec would: execs arming_file(), then forks;
// the child, marked as a task whose exec is done, returns, and the parent
// exits with the child's exit code.
void arm_here();

// Runs `body` in a child process moved into `cgroup` first and armed there
// (it execs arming_file()); returns the child's exit code (body's return
// value), or 128 + signal.
int run_in(const TestCgroup &cgroup, const std::function<int()> &body);

// The same without the exec: a task in the cgroup without the container's
// mark, as a runtime's exec helper is before it execs.
int run_unarmed_in(const TestCgroup &cgroup, const std::function<int()> &body);

// Runs `body` in a child process that stays where the test runner is.
int run_outside(const std::function<int()> &body);

// 0 when the call succeeded, else its errno.
int open_errno(const std::string &path, int flags, mode_t mode = 0644);
int errno_of(int result);

// A directory under /tmp, removed at the end.
class TempDir {
  public:
    TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir();
    [[nodiscard]] const std::filesystem::path &path() const { return path_; }
    std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path &path, const std::string &content, mode_t mode = 0644);

// The (dev, ino) the kernel sees for `path` (symlinks followed).
ObjectKey key_of(const std::filesystem::path &path);

// Runs a program and returns its exit status (128 + signal when killed).
int run_program(const std::vector<std::string> &argv, bool quiet = false);

} // namespace cgfence::test
