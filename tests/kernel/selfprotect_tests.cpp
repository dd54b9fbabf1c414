// Self-protection, observed from a confined process with every capability
// (the suite runs as root): cgfence's maps, programs and links stay out of its
// reach, its pins cannot be removed or renamed, and its flood of denials
// drowns nobody else's records.
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <set>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"
#include "loader.hpp"
#include "program_maps.hpp"
#include "unique_fd.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

ContainerPolicy allow_all(uint8_t mode = CGFENCE_MODE_ENFORCE)
{
    return PolicyBuilder(mode, RWX).build();
}

// 0 when a call returned an fd (closed here), else its errno.
int fd_errno(int result)
{
    if (result >= 0) {
        ::close(result);
        return 0;
    }
    return errno;
}

uint32_t id_of_pin(const fs::path &pin)
{
    UniqueFd fd(bpf_obj_get(pin.c_str()));
    REQUIRE(fd);
    bpf_prog_info info{}; // the id comes first in map, prog and link info alike
    uint32_t size = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(fd.get(), &info, &size) == 0);
    return info.id;
}

std::vector<fs::path> pins_in(const fs::path &dir)
{
    std::vector<fs::path> pins;
    for (const auto &entry : fs::directory_iterator(dir))
        pins.push_back(entry.path());
    REQUIRE_FALSE(pins.empty());
    return pins;
}

// The inner policy map of a registered container, by id.
uint32_t policy_map_id(uint64_t cgroup_id)
{
    uint32_t id = 0;
    REQUIRE(bpf_map_lookup_elem(suite_maps().policies.get(), &cgroup_id, &id) == 0);
    return id;
}

const PinLayout pins()
{
    return PinLayout{suite_pin_dir()};
}

} // namespace

TEST_CASE("self-protection: no fd to cgfence's maps, by id or by pin, in any mode")
{
    for (uint8_t mode : {CGFENCE_MODE_ENFORCE, CGFENCE_MODE_AUDIT}) {
        Container c("guard-maps", allow_all(mode));
        for (const fs::path &pin : pins_in(pins().maps())) {
            CAPTURE(pin);
            const uint32_t id = id_of_pin(pin);
            CHECK(c.run([&] { return fd_errno(bpf_map_get_fd_by_id(id)); }) == EPERM);
            CHECK(c.run([&] { return fd_errno(bpf_obj_get(pin.c_str())); }) == EPERM);
            CHECK(fd_errno(bpf_map_get_fd_by_id(id)) == 0); // outside: allowed
        }
        const uint32_t own_policy = policy_map_id(c.id());
        CHECK(c.run([&] { return fd_errno(bpf_map_get_fd_by_id(own_policy)); }) == EPERM);
    }
}

TEST_CASE("self-protection: no fd to the global data maps of cgfence's programs; what stays "
          "readable is frozen")
{
    Container c("guard-data", allow_all());
    std::set<std::string> refused;
    for (const uint32_t id : maps_of_pinned_programs(pins().progs())) {
        UniqueFd map(bpf_map_get_fd_by_id(id));
        REQUIRE(map);
        bpf_map_info info{};
        uint32_t size = sizeof(info);
        REQUIRE(bpf_obj_get_info_by_fd(map.get(), &info, &size) == 0);
        const std::string name = info.name;
        CAPTURE(name);
        const int opened = c.run([&] { return fd_errno(bpf_map_get_fd_by_id(id)); });
        if (opened == EPERM) {
            refused.insert(name);
            continue;
        }
        // Only the string literals' map may be opened: read-only for programs,
        // and frozen, so that no bpf() call changes it either.
        CHECK(opened == 0);
        CHECK(name.find(".rodata.str") != std::string::npos);
        CHECK((info.map_flags & BPF_F_RDONLY_PROG) != 0);
        const uint32_t zero = 0;
        std::vector<char> value(info.value_size);
        CHECK(bpf_map_update_elem(map.get(), &zero, value.data(), 0) != 0);
        CHECK(errno == EPERM);
    }
    CHECK(refused.contains("cgfence_.rodata"));
    CHECK(refused.contains("policies"));
    for (const std::string &name : refused) // none writable: .data and .bss hold nothing
        CHECK_MESSAGE(
            (name.find(".data") == std::string::npos && name.find(".bss") == std::string::npos),
            name);
}

TEST_CASE("self-protection: no fd to cgfence's programs; no link opened, detached or replaced")
{
    Container c("guard-progs", allow_all());
    for (const fs::path &pin : pins_in(pins().progs())) {
        CAPTURE(pin);
        const uint32_t id = id_of_pin(pin);
        CHECK(c.run([&] { return fd_errno(bpf_prog_get_fd_by_id(id)); }) == EPERM);
        CHECK(c.run([&] { return fd_errno(bpf_obj_get(pin.c_str())); }) == EPERM);
    }
    const fs::path link = pins_in(pins().links()).front();
    const uint32_t link_id = id_of_pin(link);
    CHECK(c.run([&] { return fd_errno(bpf_link_get_fd_by_id(link_id)); }) == EPERM);
    CHECK(c.run([&] {
        UniqueFd fd(bpf_obj_get(link.c_str())); // a link's pin opens; using it does not
        if (!fd)
            return -1;
        return bpf_link_detach(fd.get()) == 0 ? 0 : errno;
    }) == EPERM);
    CHECK(c.run([&] {
        UniqueFd fd(bpf_obj_get(link.c_str()));
        if (!fd)
            return -1;
        return bpf_link_update(fd.get(), fd.get(), nullptr) == 0 ? 0 : errno;
    }) == EPERM);
}

TEST_CASE("self-protection: pins cannot be removed, renamed or changed")
{
    Container c("guard-pins", allow_all());
    const fs::path link = pins_in(pins().links()).front();
    const fs::path map = pins().map("policies");
    CHECK(c.run([&] { return errno_of(::unlink(link.c_str())); }) == EPERM);
    CHECK(c.run([&] { return errno_of(::unlink(map.c_str())); }) == EPERM);
    CHECK(c.run([&] { return errno_of(::rename(link.c_str(), (link.string() + "x").c_str())); }) ==
          EPERM);
    CHECK(c.run([&] {
        return errno_of(::rename(pins().links().c_str(), (suite_pin_dir() + "/moved").c_str()));
    }) == EPERM);
    CHECK(c.run([&] { return errno_of(::rmdir(pins().progs().c_str())); }) == EPERM);
    CHECK(c.run([&] { return errno_of(::chmod(map.c_str(), 0666)); }) == EPERM);
    // A pin of the container's own beside cgfence's is refused too.
    CHECK(c.run([&] { return errno_of(::mkdir((suite_pin_dir() + "/mine").c_str(), 0700)); }) == 0);
    CHECK(c.run([&] { return errno_of(::rmdir((suite_pin_dir() + "/mine").c_str())); }) == EPERM);
    ::rmdir((suite_pin_dir() + "/mine").c_str());
    CHECK(fs::exists(link));
    CHECK(fs::exists(map));
    auto status = read_status(pins());
    REQUIRE(status.ok());
    CHECK(status->live);
}

TEST_CASE("self-protection: a confined container still makes and uses maps of its own")
{
    Container c("guard-own", allow_all());
    CHECK(c.run([] {
        UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "mine", 4, 8, 1, nullptr));
        if (!fd)
            return errno;
        uint32_t key = 0;
        uint64_t value = 42, back = 0;
        if (bpf_map_update_elem(fd.get(), &key, &value, 0) != 0 ||
            bpf_map_lookup_elem(fd.get(), &key, &back) != 0)
            return errno;
        return back == 42 ? 0 : -1;
    }) == 0);
}

TEST_CASE("self-protection: a confined task finds, queries and detaches no program, and opens "
          "no map by id")
{
    Container c("guard-programs", allow_all());
    uint32_t next = 0;
    REQUIRE(bpf_prog_get_next_id(0, &next) == 0); // outside: allowed
    CHECK(c.run([&] { return bpf_prog_get_next_id(0, &next) == 0 ? 0 : errno; }) == EPERM);
    CHECK(c.run([&] { return bpf_map_get_next_id(0, &next) == 0 ? 0 : errno; }) == EPERM);
    CHECK(c.run([&] { return fd_errno(bpf_prog_get_fd_by_id(next)); }) == EPERM);
    const std::string root = cgroup2_mount();
    CHECK(c.run([&] {
        UniqueFd cgroup(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        uint32_t count = 0;
        if (!cgroup)
            return -1;
        return bpf_prog_query(cgroup.get(), BPF_CGROUP_DEVICE, 0, nullptr, nullptr, &count) == 0
                   ? 0
                   : errno;
    }) == EPERM);
}

// bpffs prints a map with BTF when its pin file is read: no bpf() call.
TEST_CASE("self-protection: no pin file of cgfence's opened, so no map read out through one")
{
    Container c("guard-pin-files", allow_all());
    std::vector<std::string> readable;
    for (const auto &entry : fs::directory_iterator(pins().maps())) {
        UniqueFd fd(::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC));
        if (fd) // outside: the route is open
            readable.push_back(entry.path().string());
    }
    REQUIRE_FALSE(readable.empty());
    for (const std::string &pin : readable) {
        CAPTURE(pin);
        CHECK(c.run([&] { return fd_errno(::open(pin.c_str(), O_RDONLY | O_CLOEXEC)); }) == EPERM);
    }
    const std::string dir = pins().maps().string();
    CHECK(c.run([&] {
        return fd_errno(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }) == EPERM);
}

TEST_CASE("self-protection: each refusal is counted and reported as a denial")
{
    Container c("guard-events", allow_all(CGFENCE_MODE_AUDIT));
    const std::string pin = pins().map("records").string();
    take_events(0);
    CHECK(c.run([&] { return fd_errno(bpf_obj_get(pin.c_str())); }) == EPERM);
    auto events = take_events(c.id());
    REQUIRE(events.size() == 1);
    CHECK(events[0].hook == CGFENCE_HOOK_BPF_MAP);
    CHECK(events[0].verdict == CGFENCE_VERDICT_DENIED);
    CHECK(std::string(events[0].name) == "records");
    auto counters = read_counters(suite_maps(), c.id());
    REQUIRE(counters.ok());
    CHECK(counters->denied == 1);
}

TEST_CASE("flooding: a container's flood of denials hits its own rate limit, others' records "
          "arrive")
{
    TempDir d;
    write_file(d / "f", "x");
    PolicyBuilder flood_policy(CGFENCE_MODE_ENFORCE, RWX);
    rule(flood_policy, d / "f", 0);
    flood_policy.event_rate(10, 20);
    PolicyBuilder quiet_policy(CGFENCE_MODE_ENFORCE, RWX);
    rule(quiet_policy, d / "f", 0);
    quiet_policy.event_rate(10, 20);
    Container flooder("flooder", flood_policy.build());
    Container quiet("quiet", quiet_policy.build());
    take_events(0);
    constexpr int kFlood = 20000;
    CHECK(flooder.run([&] {
        int denied = 0;
        for (int i = 0; i < kFlood; i++)
            denied += open_errno(d / "f", O_RDONLY) == EACCES;
        return denied == kFlood ? 0 : -1;
    }) == 0);
    CHECK(quiet.run([&] {
        int denied = 0;
        for (int i = 0; i < 3; i++)
            denied += open_errno(d / "f", O_RDONLY) == EACCES;
        return denied == 3 ? 0 : -1;
    }) == 0);
    CHECK(take_events(quiet.id()).size() == 3);
    auto flood = read_counters(suite_maps(), flooder.id());
    REQUIRE(flood.ok());
    CHECK(flood->denied == kFlood);
    CHECK(flood->events_sent + flood->events_dropped == kFlood);
    CHECK(flood->events_sent >= 20); // the burst, and the refill while it ran
    CHECK(flood->events_dropped >= kFlood - 1000);
    MESSAGE("flood: " << flood->events_sent << " records sent, " << flood->events_dropped
                      << " dropped");
}
