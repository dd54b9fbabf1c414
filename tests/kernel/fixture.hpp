// The VM kernel suite's fixture: cgfence loaded once by `cgfencectl load`
// (which then exits, as at boot), and test containers: a cgroup with a
// published policy, where scoped processes make real syscalls.
#pragma once

#include <functional>
#include <string>

#include "built.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "sandbox.hpp"

namespace cgfence::test {

// Runs cgfencectl (or another build of it) with --pin-dir; its exit status.
int cgfencectl(const std::string &pin_dir, std::vector<std::string> args,
               const std::string &binary = cgfencectl_path());

// The suite's cgfence, loaded on first use into its own pin directory.
const PinnedMaps &suite_maps();
const std::string &suite_pin_dir();

// A registered test container.
class Container {
  public:
    Container(const std::string &name, const ContainerPolicy &policy,
              const PinnedMaps &maps = suite_maps());
    Container(const Container &) = delete;
    Container &operator=(const Container &) = delete;
    ~Container();

    // `body` in a process of this container, armed by an exec there; its
    // return value (an errno).
    int run(const std::function<int()> &body) const { return run_in(cgroup_, body); }
    // `body` in a process in this container's cgroup that did not exec there:
    // the runtime's exec helper before its exec.
    int run_unarmed(const std::function<int()> &body) const
    {
        return run_unarmed_in(cgroup_, body);
    }
    // Publishes `policy`, with an x rule on the arming file of its own (it
    // widens no other rule), so that arming is neither denied nor counted as
    // a denial; its tasks arm in the test's mount namespace.
    void replace(const ContainerPolicy &policy) const;
    [[nodiscard]] const TestCgroup &cgroup() const { return cgroup_; }
    [[nodiscard]] uint64_t id() const { return cgroup_.id(); }

  private:
    TestCgroup cgroup_;
    const PinnedMaps &maps_;
};

// A policy builder with a rule on `path`.
PolicyBuilder &rule(PolicyBuilder &builder, const std::filesystem::path &path, uint8_t access,
                    bool recursive = true);

// Drains the suite's ring buffer; the events of container `cgroup_id`.
std::vector<cgfence_event> take_events(uint64_t cgroup_id);

} // namespace cgfence::test
