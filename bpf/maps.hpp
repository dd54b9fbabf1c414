// The pinned maps, opened by the tools that read and write policies.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "abi.hpp"
#include "error.hpp"
#include "pins.hpp"
#include "unique_fd.hpp"

namespace cgfence {

inline constexpr std::array<const char *, 8> kMapNames = {
    "policies", "counters", "containers", "events", "records", "meta", "learned", "marks"};

struct PinnedMaps {
    UniqueFd policies;   // cgroup id -> the container's inner policy map
    UniqueFd counters;   // cgroup id -> cgfence_counters, per CPU
    UniqueFd containers; // cgroup id -> cgfence_container_state
    UniqueFd events;     // ring buffer of cgfence_event
    UniqueFd records;    // record key -> cgfence_record
    UniqueFd meta;       // 0 -> cgfence_meta
    UniqueFd learned;    // cgfence_learned_key -> cgfence_learned (learn mode)
    UniqueFd marks;      // confined task -> cgfence_task_mark (task storage, or hash by task)

    // Opens every map pinned under `pins`; an error names the missing pin and
    // says how to create it.
    static Result<PinnedMaps> open(const PinLayout &pins);
};

// Layout of a map as the kernel reports it.
struct MapShape {
    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;
    uint32_t id = 0;
    std::string name;
};

Result<MapShape> map_shape(int map_fd);

// The keys of a hash map (bounded by its capacity).
Result<std::vector<uint64_t>> map_u64_keys(int map_fd);

Result<cgfence_meta> read_meta(const PinnedMaps &maps);
Status write_meta(int meta_fd, const cgfence_meta &meta);

} // namespace cgfence
