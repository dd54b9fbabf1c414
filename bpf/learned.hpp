// Learn mode's memory, read and cleared from userspace: the distinct accesses
// the program remembered for a container (bpf/cgfence.bpf.c, `remember`).
#pragma once

#include <cstdint>
#include <vector>

#include "abi.hpp"
#include "error.hpp"
#include "maps.hpp"

namespace cgfence {

struct LearnedAccess {
    uint32_t dev = 0; // kernel encoding
    uint64_t ino = 0;
    uint8_t wanted = 0; // CGFENCE_ACCESS_*
    cgfence_learned detail{};
};

// Every access remembered for the container registered at `cgroup_id`.
Result<std::vector<LearnedAccess>> learned_accesses(const PinnedMaps &maps, uint64_t cgroup_id);

// Removes them; how many there were.
Result<size_t> forget_learned(const PinnedMaps &maps, uint64_t cgroup_id);

// Removes what belongs to containers that have no policy (any more): left
// when a teardown was interrupted. The program adds entries only for
// containers it finds in `policies`. How many were removed.
Result<size_t> forget_unregistered_learned(const PinnedMaps &maps);

} // namespace cgfence
