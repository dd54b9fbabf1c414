// Before a container is registered: one policy per cgroup, one registration
// per container, and none hidden under another container's.
#pragma once

#include <string>

#include "container_cgroup.hpp"
#include "error.hpp"
#include "maps.hpp"

namespace cgfence {

// Checks that `id` (with `bundle`) may be registered for `cgroup`:
// - the same container set up again (same id, bundle and cgroup: a hook
//   configured at both prestart and createRuntime) may replace its policy;
// - a stale registration of the same id and bundle whose cgroup is gone (a
//   container killed without poststop) is removed first, as gc would;
// - refused when the id and bundle are registered with another live cgroup,
//   when the cgroup holds another container's policy (tearing either down
//   would end the other's enforcement), when an ancestor cgroup is
//   registered (its policy would decide for this container instead), or when
//   a cgroup below this one is (this policy would decide for that one).
Status check_registration(const PinnedMaps &maps, const std::string &id, const std::string &bundle,
                          const ContainerCgroup &cgroup);

} // namespace cgfence
