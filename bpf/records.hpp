// The hook's record of each registered container, kept in the pinned
// `records` map so that poststop, `ps` and `events` find it without files on
// disk. Keyed by a hash of (id, bundle) with the strings stored and compared,
// probing the next keys on a collision: two runtimes' containers with the same
// id differ by bundle and never share a record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "abi.hpp"
#include "error.hpp"
#include "maps.hpp"

namespace cgfence {

struct ContainerRecord {
    uint64_t key = 0; // where it is stored in the records map
    cgfence_record value{};
};

// CLOCK_REALTIME in nanoseconds: a record's created_ns and updated_ns.
uint64_t realtime_ns();

// Fills a record's strings; fails when one does not fit its field.
Status fill_record_names(cgfence_record &record, const std::string &id, const std::string &bundle,
                         const std::string &profile);

// The record of (id, bundle), if any.
Result<std::optional<ContainerRecord>> find_record(const PinnedMaps &maps, const std::string &id,
                                                   const std::string &bundle);

// Adds the record, or replaces the one of the same (id, bundle).
Result<uint64_t> put_record(const PinnedMaps &maps, const cgfence_record &record);

// Replaces the record stored at `key`; ENOENT when it is gone (never re-added).
Status replace_record(const PinnedMaps &maps, uint64_t key, const cgfence_record &record);

// Removes the record stored at `key` (no error when it is gone already).
Status delete_record(const PinnedMaps &maps, uint64_t key);

// Every record (bounded by the map's capacity).
Result<std::vector<ContainerRecord>> all_records(const PinnedMaps &maps);

} // namespace cgfence
