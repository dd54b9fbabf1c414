#include "maps.hpp"

#include <bpf/bpf.h>

namespace cgfence {

Result<PinnedMaps> PinnedMaps::open(const PinLayout &pins)
{
    // Maps pinned by another ABI (an upgrade whose `load` refused to take
    // them over) would be misread: say so rather than that a pin is missing.
    if (UniqueFd meta(bpf_obj_get(pins.map("meta").c_str())); meta) {
        cgfence_meta pinned{};
        uint32_t zero = 0;
        if (bpf_map_lookup_elem(meta.get(), &zero, &pinned) == 0 && pinned.abi_version != 0 &&
            pinned.abi_version != CGFENCE_ABI_VERSION)
            return logic_error(
                "use pinned maps", pins.root,
                "they hold ABI version " + std::to_string(pinned.abi_version) +
                    ", this build uses " + std::to_string(CGFENCE_ABI_VERSION) +
                    ": run `cgfencectl unload --force` (ends every container's enforcement) and "
                    "`cgfencectl load`");
    }
    PinnedMaps maps;
    UniqueFd *slots[] = {&maps.policies, &maps.counters, &maps.containers, &maps.events,
                         &maps.records,  &maps.meta,     &maps.learned,    &maps.marks};
    for (size_t i = 0; i < kMapNames.size(); i++) {
        std::string path = pins.map(kMapNames[i]);
        int fd = bpf_obj_get(path.c_str());
        if (fd < 0)
            return Error{"open pinned map", path, errno,
                         "is cgfence loaded? run `cgfencectl load` (or `load --maps-only`)"};
        slots[i]->reset(fd);
    }
    return maps;
}

Result<MapShape> map_shape(int map_fd)
{
    bpf_map_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &length) != 0)
        return system_error("read map info", "fd " + std::to_string(map_fd));
    return MapShape{info.type,      info.key_size, info.value_size, info.max_entries,
                    info.map_flags, info.id,       info.name};
}

Result<std::vector<uint64_t>> map_u64_keys(int map_fd)
{
    std::vector<uint64_t> keys;
    uint64_t key = 0;
    uint64_t next = 0;
    const uint64_t *previous = nullptr;
    // A hash map's keys, at most its capacity (a bound against endless
    // restarts when entries are deleted while we iterate).
    auto shape = map_shape(map_fd);
    if (!shape)
        return shape.error();
    while (keys.size() <= shape->max_entries) {
        if (bpf_map_get_next_key(map_fd, previous, &next) != 0) {
            if (errno == ENOENT)
                break;
            return system_error("iterate map", shape->name);
        }
        keys.push_back(next);
        key = next;
        previous = &key;
    }
    return keys;
}

Result<cgfence_meta> read_meta(const PinnedMaps &maps)
{
    uint32_t zero = 0;
    cgfence_meta meta{};
    if (bpf_map_lookup_elem(maps.meta.get(), &zero, &meta) != 0)
        return system_error("read", "meta map");
    return meta;
}

Status write_meta(int meta_fd, const cgfence_meta &meta)
{
    uint32_t zero = 0;
    if (bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY) != 0)
        return system_error("write", "meta map");
    return {};
}

} // namespace cgfence
