// `cgfencectl load | unload | status`: puts the program in the kernel for
// good (pinned links outlive the loader), upgrades it in place, takes it out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "kernel_features.hpp"
#include "pins.hpp"

namespace cgfence {

// Loads and attaches the smallest LSM program and lets it go: does this
// kernel run BPF LSM programs? The error's detail says how to enable them.
Status probe_bpf_lsm();

// The id of the BPF object built into this executable (a hash of its bytes).
uint64_t this_build_id();

enum class LoadOutcome {
    loaded,    // nothing of cgfence was pinned before
    upgraded,  // another build's programs were replaced; maps and policies kept
    unchanged, // this build was already loaded: nothing done
};

struct LoadReport {
    LoadOutcome outcome = LoadOutcome::loaded;
    uint64_t build_id = 0;
    std::vector<std::string> programs;         // attached and pinned
    std::vector<std::string> reused_maps;      // pinned maps taken over
    MarkStore marks = MarkStore::task_storage; // where confined tasks' marks live
    std::vector<std::string> warnings;         // what this kernel leaves unconfined
    size_t marked_running = 0;                 // tasks of registered containers that had no mark
};

struct LoadOptions {
    PinLayout pins;
    bool maps_only = false; // create and pin the maps, no programs
};

Result<LoadReport> load(const LoadOptions &options);

// Removes enforcement and every pin. Refuses while containers are registered
// unless `force`.
Status unload(const PinLayout &pins, bool force);

struct ProgramStatus {
    std::string name;
    uint32_t program_id = 0;
    uint32_t link_id = 0;
};

struct MapStatus {
    std::string name;
    uint32_t id = 0;
    std::string type;
    uint32_t max_entries = 0;
    int64_t entries = -1; // -1 where not countable (ring buffer, array)
};

struct EnforcementStatus {
    bool pinned = false;    // anything of cgfence under the pin dir
    bool live = false;      // programs attached: policies are enforced
    bool maps_only = false; // pinned by `load --maps-only`
    uint32_t abi_version = 0;
    uint64_t build_id = 0;
    uint64_t loaded_at_ns = 0;
    uint64_t containers = 0;
    std::string marks; // where confined tasks' marks live (mark_store_name)
    std::vector<ProgramStatus> programs;
    std::vector<MapStatus> maps;
};

Result<EnforcementStatus> read_status(const PinLayout &pins);

} // namespace cgfence
