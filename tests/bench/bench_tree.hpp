// The files the open and exec benchmarks use, on filesystems of their own so
// that a file's depth is exactly its distance from its filesystem's root:
//
//   tmpfs:   <root>/allow/prog            depth 2
//            <root>/allow/l2/.../l15/prog depth 16   (and the same under deny/)
//   overlay: <merged>/allow/...           the same tree as the lower layer
//                                         (tmpfs), upper and work on a tmpfs
//
// Every `prog` is the static exec_chain binary, opened by one benchmark and
// executed by the other. And the containers' policies: default deny, allow/
// readable and executable, filler rules up to the profile's size.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "policy.hpp"
#include "sandbox.hpp"
#include "workload.hpp"

namespace cgfence::bench {

enum class Fs { tmpfs, overlay };

// A mount, detached at the end.
class Mount {
  public:
    Mount(const std::string &source, const std::filesystem::path &target, const std::string &type,
          const std::string &options);
    Mount(const Mount &) = delete;
    Mount &operator=(const Mount &) = delete;
    ~Mount();

  private:
    std::filesystem::path target_;
};

class BenchTree {
  public:
    BenchTree(const std::filesystem::path &binary, const std::vector<int> &depths);

    [[nodiscard]] std::filesystem::path file(Fs where, int depth, Expect expect) const;
    // A policy of exactly `rules` entries (rules, layer roots, fillers).
    [[nodiscard]] ContainerPolicy policy(size_t rules) const;

  private:
    test::TempDir dir_;
    std::filesystem::path tmpfs_, lower_, layers_, merged_;
    std::vector<std::unique_ptr<Mount>> mounts_; // unmounted last first
};

// A container's policy published for a cgroup, withdrawn at the end.
class Registration {
  public:
    Registration(const PinnedMaps &maps, uint64_t cgroup_id, const ContainerPolicy &policy);
    Registration(const Registration &) = delete;
    Registration &operator=(const Registration &) = delete;
    ~Registration();

  private:
    const PinnedMaps &maps_;
    uint64_t cgroup_id_;
};

} // namespace cgfence::bench
