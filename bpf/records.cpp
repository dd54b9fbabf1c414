#include "records.hpp"

#include <ctime>

#include <bpf/bpf.h>
#include <cstring>

namespace cgfence {

uint64_t realtime_ns()
{
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
}
namespace {

// How many consecutive keys a lookup or insert may probe.
constexpr uint64_t kProbes = 32;

uint64_t record_hash(const std::string &id, const std::string &bundle)
{
    uint64_t hash = 0xcbf29ce484222325ULL; // FNV-1a
    auto mix = [&hash](const std::string &text) {
        for (unsigned char c : text) {
            hash ^= c;
            hash *= 0x100000001b3ULL;
        }
        hash *= 0x100000001b3ULL; // a 0 byte: the separator between id and bundle
    };
    mix(id);
    mix(bundle);
    return hash;
}

bool same_container(const cgfence_record &record, const std::string &id, const std::string &bundle)
{
    return id == record.id && bundle == record.bundle;
}

template <size_t N> Status copy_name(char (&field)[N], const std::string &text, const char *what)
{
    if (text.size() >= N || text.find('\0') != std::string::npos)
        return logic_error("record", what,
                           "\"" + text + "\" is longer than " + std::to_string(N - 1) + " bytes");
    std::memset(field, 0, N);
    std::memcpy(field, text.data(), text.size());
    return {};
}

} // namespace

Status fill_record_names(cgfence_record &record, const std::string &id, const std::string &bundle,
                         const std::string &profile)
{
    if (auto s = copy_name(record.id, id, "container id"); !s)
        return s;
    if (auto s = copy_name(record.bundle, bundle, "bundle path"); !s)
        return s;
    return copy_name(record.profile, profile, "profile name");
}

Result<std::optional<ContainerRecord>> find_record(const PinnedMaps &maps, const std::string &id,
                                                   const std::string &bundle)
{
    const uint64_t first = record_hash(id, bundle);
    for (uint64_t key = first; key < first + kProbes; key++) {
        cgfence_record value{};
        if (bpf_map_lookup_elem(maps.records.get(), &key, &value) != 0) {
            if (errno == ENOENT)
                continue; // a hole left by a removed record: keep probing
            return system_error("read record of container", id);
        }
        if (same_container(value, id, bundle))
            return std::optional<ContainerRecord>(ContainerRecord{key, value});
    }
    return std::optional<ContainerRecord>();
}

Status replace_record(const PinnedMaps &maps, uint64_t key, const cgfence_record &record)
{
    if (bpf_map_update_elem(maps.records.get(), &key, &record, BPF_EXIST) != 0)
        return Error{"update record of container", record.id, errno,
                     errno == ENOENT ? "it was removed meanwhile (the container stopped)" : ""};
    return {};
}

Result<uint64_t> put_record(const PinnedMaps &maps, const cgfence_record &record)
{
    const std::string id = record.id;
    const std::string bundle = record.bundle;
    // Two setups of one container may race (prestart and createRuntime both
    // configured): whoever loses the insert finds the winner's record and
    // updates it.
    for (int attempt = 0; attempt < 2; attempt++) {
        auto existing = find_record(maps, id, bundle);
        if (!existing)
            return existing.error();
        if (*existing) {
            const uint64_t key = (*existing)->key;
            if (bpf_map_update_elem(maps.records.get(), &key, &record, BPF_EXIST) == 0)
                return key;
            if (errno != ENOENT)
                return system_error("update record of container", id);
            continue; // removed meanwhile: insert anew
        }
        const uint64_t first = record_hash(id, bundle);
        for (uint64_t key = first; key < first + kProbes; key++) {
            if (bpf_map_update_elem(maps.records.get(), &key, &record, BPF_NOEXIST) == 0)
                return key;
            if (errno == E2BIG)
                return Error{"add record of container", id, errno,
                             "the records map is full: run `cgfencectl gc`"};
            if (errno != EEXIST)
                return system_error("add record of container", id);
        }
    }
    return logic_error("add record of container", id,
                       "no free slot among " + std::to_string(kProbes) + " probed keys");
}

Status delete_record(const PinnedMaps &maps, uint64_t key)
{
    if (bpf_map_delete_elem(maps.records.get(), &key) != 0 && errno != ENOENT)
        return system_error("remove record", std::to_string(key));
    return {};
}

Result<std::vector<ContainerRecord>> all_records(const PinnedMaps &maps)
{
    auto keys = map_u64_keys(maps.records.get());
    if (!keys)
        return keys.error();
    std::vector<ContainerRecord> records;
    records.reserve(keys->size());
    for (uint64_t key : *keys) {
        ContainerRecord record{key, {}};
        if (bpf_map_lookup_elem(maps.records.get(), &key, &record.value) == 0)
            records.push_back(record);
    }
    return records;
}

} // namespace cgfence
