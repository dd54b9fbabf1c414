// A container's policy as the kernel reads it, built completely in userspace
// and then published in one step (one update of the policies map), or
// withdrawn at the cost of that container's entries alone.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "abi.hpp"
#include "error.hpp"
#include "maps.hpp"

namespace cgfence {

struct PolicyKey {
    uint32_t kind = CGFENCE_KEY_INODE;
    uint32_t dev = 0; // kernel encoding
    uint64_t ino = 0;

    auto operator<=>(const PolicyKey &) const =
        default; // NOLINT(modernize-use-nullptr): clang-tidy 14 misreads <=>
};

struct PolicyRule {
    uint8_t access = 0;
    uint8_t flags = 0;        // CGFENCE_RULE_*
    uint64_t path_id = 0;     // rule_path_id() of the profile path that named it; 0: none
    uint32_t overlay_dev = 0; // an overlay layer's: its overlay's kernel dev
};

// The id a rule keeps of the profile path that named its object: a 64-bit
// FNV-1a hash of the path, never 0.
uint64_t rule_path_id(const std::string &path);

struct ContainerPolicy {
    cgfence_settings settings{};
    std::map<PolicyKey, PolicyRule> rules;
    std::set<PolicyKey> rule_holders; // CGFENCE_KEY_RULE_HOLDER keys
    // The container's mount namespace (nsfs inode): a task in its cgroup
    // becomes the container's only by an exec there. 0: by an exec anywhere.
    // Written with the container's first policy; a replaced one keeps it.
    uint64_t view_mnt_ns = 0;
};

inline constexpr uint32_t kMaxEventsPerSecond = 100000;

class PolicyBuilder {
  public:
    PolicyBuilder(uint8_t mode, uint8_t default_access);

    // A rule on an object (recursive unless `recursive` is false). Two rules
    // that land on one object (a symlinked path, a hard link) merge into the
    // stricter: the intersection of their rights, recursive if either is.
    // The merged rule keeps the first rule's path id.
    PolicyBuilder &inode_rule(uint32_t dev, uint64_t ino, uint8_t access, bool recursive = true,
                              uint64_t path_id = 0);
    // A rule for every object on filesystems with this superblock magic.
    PolicyBuilder &fstype_rule(uint64_t magic, uint8_t access);
    // The root of a mount in the container's view. With a path rule to carry
    // over (the nearest rule enclosing its mount point), the mount root gets
    // that rule; without, walks stop there as at a filesystem root. A path
    // rule on the mount root itself always wins.
    PolicyBuilder &mount_root(uint32_t dev, uint64_t ino, const PolicyRule *enclosing);
    // The root of an overlay layer (lower, upper, work) of the rootfs, the
    // overlay whose kernel dev is `overlay_dev`.
    PolicyBuilder &overlay_layer(uint32_t dev, uint64_t ino, uint32_t overlay_dev);
    // A directory on the way to a restrictive rule's object.
    PolicyBuilder &rule_holder(uint32_t dev, uint64_t ino);
    PolicyBuilder &event_rate(uint32_t per_second, uint32_t burst);

    // The finished policy; deep_access is the default's rights intersected
    // with every rule's, so a walk that cannot finish never grants more than
    // some rule or the default would.
    [[nodiscard]] ContainerPolicy build() const;

  private:
    ContainerPolicy policy_;
    std::map<PolicyKey, PolicyRule> mount_roots_;
};

enum class Publish {
    create_or_replace, // the hook at set-up
    replace_only,      // a running container's change: never revives one torn down meanwhile
};

// Publishes `policy` for the container registered at `cgroup_id`, replacing
// any policy it had in one step: the kernel sees the old policy or the new
// one, never none and never a mix. Fails, changing nothing, when a map is
// full (or, replace_only, when the container has no policy: ENOENT).
Status publish_policy(const PinnedMaps &maps, uint64_t cgroup_id, const ContainerPolicy &policy,
                      Publish how = Publish::create_or_replace);

// The entries the program keeps of a container beside its policy (counters,
// and its state: rate limiter, learned count, arming), made before the policy
// is visible so that its first decision is counted. Existing ones are kept.
// Key 0 is the orphans', which `load` makes.
Status ensure_container_entries(int counters_fd, int containers_fd, uint64_t cgroup_id,
                                uint64_t view_mnt_ns);

// Removes every entry of the container; a container not registered is not an
// error (returns false then).
Result<bool> withdraw_policy(const PinnedMaps &maps, uint64_t cgroup_id);

// The registered containers' cgroup ids.
Result<std::vector<uint64_t>> registered_cgroups(const PinnedMaps &maps);

// Does `cgroup_id` hold a policy? (One lookup.)
Result<bool> has_policy(const PinnedMaps &maps, uint64_t cgroup_id);

// The published policy of a container, read back from the kernel.
Result<ContainerPolicy> read_policy(const PinnedMaps &maps, uint64_t cgroup_id);

// What the program keeps of a container (rate limiter, learned count, the
// time its first task armed).
Result<cgfence_container_state> read_container_state(const PinnedMaps &maps, uint64_t cgroup_id);

// A container's counters summed over CPUs.
Result<cgfence_counters> read_counters(const PinnedMaps &maps, uint64_t cgroup_id);

} // namespace cgfence
