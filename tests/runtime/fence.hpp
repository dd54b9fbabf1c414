// The cgfence a test works with: its own pin directory, hook config file and
// profile directory. On the host (whose kernel refuses BPF LSM programs) the
// maps are pinned by `cgfencectl load --maps-only` on a private bpffs and the
// hook runs with "on_unavailable": "allow", so it writes real maps without
// enforcement; in the VM (CGFENCE_IN_VM=1) `cgfencectl load` enforces for real.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "built.hpp"
#include "bundle.hpp"
#include "process.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "records.hpp"
#include "sandbox.hpp"

namespace cgfence::test {

// Is this run inside the test VM, where enforcement is real?
bool in_vm();

enum class Pins {
    loaded,    // VM: the run's one `load`, shared; host: `load --maps-only`
    own_load,  // VM: a `load` of its own (to upgrade it, to keep containers
               // across tests); host: `load --maps-only`
    maps_only, // `load --maps-only`, in both places
    absent,    // nothing pinned: the pin dir does not exist
};

class Fence {
  public:
    explicit Fence(const std::string &name, Pins pins = Pins::loaded);
    Fence(const Fence &) = delete;
    Fence &operator=(const Fence &) = delete;
    ~Fence(); // unloads, unmounts the private bpffs

    [[nodiscard]] const std::string &pin_dir() const { return pin_dir_; }
    [[nodiscard]] PinnedMaps maps() const;

    // The hook config the suite uses here: on the host {"on_unavailable": "allow"}, else {}.
    [[nodiscard]] static nlohmann::json base_config();
    void write_config(const nlohmann::json &config) const;
    void write_profile(const std::string &name, const nlohmann::json &profile) const;
    // A profile shipped in packaging/profiles (minimal, default, audit).
    void write_shipped_profile(const std::string &name) const;

    [[nodiscard]] std::string profile_dir() const { return (files_ / "profiles").string(); }
    // cgfencectl with this fence's --pin-dir, then `args`.
    [[nodiscard]] Finished cgfencectl(const std::vector<std::string> &args) const;
    // The records waiting in the ring buffer (`cgfencectl events --json`), of
    // one container when `container` names it; reading takes every record away.
    [[nodiscard]] std::vector<nlohmann::json> new_events(const std::string &container = "") const;

    // cgfence-hook with this fence's --config, --pin-dir and --profile-dir.
    [[nodiscard]] HookCommand hook() const;
    // A hooks.d directory for podman: one 1.0.0 file, stages prestart and
    // poststop, "when": {"always": true}, running hook().
    [[nodiscard]] std::filesystem::path hooks_dir() const;

  private:
    TempDir files_; // config.json, profiles/, hooks.d/, and the host's bpffs
    std::string pin_dir_;
    bool owns_pins_ = false; // not the VM's shared load
    bool bpffs_mounted_ = false;
    bool loaded_ = false;
};

// The events with this verdict ("denied", "audited").
std::vector<nlohmann::json> with_verdict(const std::vector<nlohmann::json> &events,
                                         const std::string &verdict);

// Every key of the maps a container's setup writes, and every record.
struct MapEntries {
    std::vector<uint64_t> policies;
    std::vector<uint64_t> counters;
    std::vector<uint64_t> containers;
    std::vector<ContainerRecord> records;
};
MapEntries map_entries(const PinnedMaps &maps);

// The cgroup v2 id of a process's cgroup (the directory's inode number).
uint64_t cgroup_id_of(pid_t pid);

// What a policy holds at `key`: "absent", or the rights ("rwx" letters, "-"
// for none) followed by " nonrecursive", " mount-boundary", " overlay-layer".
std::string rule_text(const ContainerPolicy &policy, const PolicyKey &key);

// The key of an object from `stat -c '%i %d'` output (st_ino, st_dev in
// decimal), the dev converted to the kernel's encoding.
PolicyKey key_from_stat(const std::string &stat_output);

// The number of different mount roots (device and root within it) in a
// mountinfo text: the mount-root entries a policy holds for that view.
size_t distinct_mount_roots(const std::string &mountinfo);

// The kernel-encoded dev of the mount that holds `path` (absolute) in a
// mountinfo text: the deepest mount point on the way to it, the last one
// listed when mounts are stacked. 0 if none.
uint32_t kernel_dev_at(const std::string &mountinfo, const std::string &path);

} // namespace cgfence::test
