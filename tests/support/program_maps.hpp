// The maps BPF programs use, as the kernel lists them: for tests that check
// what a confined task can reach of cgfence's objects.
#pragma once

#include <bpf/bpf.h>
#include <cstdint>
#include <doctest/doctest.h>
#include <filesystem>
#include <set>

#include "unique_fd.hpp"

namespace cgfence::test {

// The ids of the maps used by the programs pinned in `progs`: the named maps
// and the global data maps libbpf made for their object (.rodata, .data,
// .bss, string literals).
inline std::set<uint32_t> maps_of_pinned_programs(const std::filesystem::path &progs)
{
    std::set<uint32_t> ids;
    for (const auto &pin : std::filesystem::directory_iterator(progs)) {
        UniqueFd prog(bpf_obj_get(pin.path().c_str()));
        REQUIRE(prog);
        uint32_t map_ids[64] = {};
        bpf_prog_info info{};
        info.nr_map_ids = 64;
        info.map_ids = reinterpret_cast<uintptr_t>(map_ids);
        uint32_t size = sizeof(info);
        REQUIRE(bpf_obj_get_info_by_fd(prog.get(), &info, &size) == 0);
        REQUIRE(info.nr_map_ids <= 64);
        ids.insert(map_ids, map_ids + info.nr_map_ids);
    }
    return ids;
}

} // namespace cgfence::test
