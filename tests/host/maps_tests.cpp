// cgfencectl load --maps-only and the policy writer against real pinned maps
// on the host (whose kernel refuses LSM programs but creates every map).
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_dev.hpp"
#include "kernel_features.hpp"
#include "loader.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "built.hpp"
#include "sandbox.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

const std::string ctl = cgfencectl_path();

// A private bpffs so tests never touch a live install.
struct PrivateBpffs {
    TempDir dir;
    fs::path pin_dir = dir / "cgfence";
    PrivateBpffs() { REQUIRE(::mount("bpf", dir.path().c_str(), "bpf", 0, nullptr) == 0); }
    ~PrivateBpffs() { ::umount2(dir.path().c_str(), MNT_DETACH); }
    int cgfencectl(std::vector<std::string> args, bool quiet = true) const
    {
        args.insert(args.begin(), {ctl, "--pin-dir", pin_dir.string()});
        return run_program(args, quiet);
    }
};

ContainerPolicy sample_policy()
{
    return PolicyBuilder(CGFENCE_MODE_ENFORCE, 0)
        .inode_rule(kernel_dev(8U, 1U), 1234, CGFENCE_ACCESS_READ, true, rule_path_id("/etc"))
        .inode_rule(kernel_dev(8U, 1U), 99, CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE, false)
        .fstype_rule(0x9fa0, CGFENCE_ACCESS_READ)
        .rule_holder(kernel_dev(8U, 1U), 2)
        .build();
}

} // namespace

TEST_CASE("load --maps-only pins every map in a 0700 directory; a second load changes nothing")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    struct stat info {};
    REQUIRE(::stat(bpffs.pin_dir.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0700);
    PinLayout pins{bpffs.pin_dir};
    for (const char *name : kMapNames)
        CHECK_MESSAGE(fs::exists(pins.map(name)), name);
    auto maps = PinnedMaps::open(pins);
    REQUIRE(maps.ok());
    auto before = map_shape(maps->policies.get());
    REQUIRE(before.ok());

    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    auto again = PinnedMaps::open(pins);
    REQUIRE(again.ok());
    CHECK(map_shape(again->policies.get())->id == before->id); // the same map, not a new one

    auto status = read_status(pins);
    REQUIRE(status.ok());
    CHECK(status->pinned);
    CHECK(status->maps_only);
    CHECK_FALSE(status->live);
    // Where marks live, for this kernel; and the orphans' entries (key 0).
    auto vmlinux = load_kernel_btf();
    REQUIRE(vmlinux.ok());
    CHECK(status->marks == mark_store_name(mark_store_for_kernel(vmlinux->get())));
    CHECK(read_counters(*again, 0).ok());
    CHECK(read_container_state(*again, 0).ok());
}

TEST_CASE("maps pinned by another ABI are named as such, not as missing")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    PinLayout pins{bpffs.pin_dir};
    auto maps = PinnedMaps::open(pins);
    REQUIRE(maps.ok());
    cgfence_meta meta = *read_meta(*maps);
    meta.abi_version = CGFENCE_ABI_VERSION - 1;
    REQUIRE(write_meta(maps->meta.get(), meta).ok());
    auto other = PinnedMaps::open(pins);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().message().find("ABI version " + std::to_string(CGFENCE_ABI_VERSION - 1)) !=
          std::string::npos);
    CHECK(other.error().message().find("unload --force") != std::string::npos);
}

TEST_CASE("load without BPF LSM support exits 3 and says why; with it, 0")
{
    PrivateBpffs bpffs;
    const bool supported = probe_bpf_lsm().ok();
    const int code = bpffs.cgfencectl({"load"});
    CHECK(code == (supported ? 0 : 3));
    if (!supported)
        CHECK_FALSE(fs::exists(PinLayout{bpffs.pin_dir}.links() / "cgfence_file_open"));
}

TEST_CASE("a published policy reads back exactly; withdrawing is complete and idempotent")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    auto maps = PinnedMaps::open(PinLayout{bpffs.pin_dir});
    REQUIRE(maps.ok());
    const ContainerPolicy policy = sample_policy();
    REQUIRE(publish_policy(*maps, 4242, policy).ok());

    auto back = read_policy(*maps, 4242);
    REQUIRE(back.ok());
    CHECK(back->rules.size() == policy.rules.size());
    for (const auto &[key, rule] : policy.rules) {
        REQUIRE(back->rules.contains(key));
        CHECK(back->rules.at(key).access == rule.access);
        CHECK(back->rules.at(key).flags == rule.flags);
        CHECK(back->rules.at(key).path_id == rule.path_id);
    }
    CHECK(back->rule_holders == policy.rule_holders);
    CHECK(back->settings.default_access == 0);
    CHECK(back->settings.deep_access == 0);
    CHECK((back->settings.flags & CGFENCE_SETTINGS_HAS_FSTYPE_RULES) != 0);
    auto counters = read_counters(*maps, 4242);
    REQUIRE(counters.ok());
    CHECK(counters->decisions == 0);

    // Replacing is one step too: the new policy, nothing of the old.
    ContainerPolicy smaller = PolicyBuilder(CGFENCE_MODE_AUDIT, CGFENCE_ACCESS_ALL).build();
    REQUIRE(publish_policy(*maps, 4242, smaller).ok());
    CHECK(read_policy(*maps, 4242)->rules.empty());
    CHECK(read_policy(*maps, 4242)->settings.mode == CGFENCE_MODE_AUDIT);

    auto removed = withdraw_policy(*maps, 4242);
    REQUIRE(removed.ok());
    CHECK(*removed);
    CHECK(registered_cgroups(*maps)->empty());
    CHECK_FALSE(read_counters(*maps, 4242).ok());
    auto again = withdraw_policy(*maps, 4242);
    REQUIRE(again.ok());
    CHECK_FALSE(*again);
}

TEST_CASE("removing one container costs its own entries only")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    auto maps = PinnedMaps::open(PinLayout{bpffs.pin_dir});
    REQUIRE(maps.ok());
    const ContainerPolicy policy = sample_policy();
    for (uint64_t id = 1; id <= 50; id++)
        REQUIRE(publish_policy(*maps, id, policy).ok());
    REQUIRE(withdraw_policy(*maps, 25).ok());
    auto left = registered_cgroups(*maps);
    REQUIRE(left.ok());
    CHECK(left->size() == 49);
    CHECK(read_policy(*maps, 24).ok());
    CHECK(read_policy(*maps, 26)->rules.size() == policy.rules.size());
}

TEST_CASE("a full policies map is an error the writer sees; existing policies stay")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    auto maps = PinnedMaps::open(PinLayout{bpffs.pin_dir});
    REQUIRE(maps.ok());
    const ContainerPolicy policy = PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).build();
    for (uint64_t id = 1; id <= CGFENCE_MAX_CONTAINERS; id++)
        REQUIRE(publish_policy(*maps, id, policy).ok());
    auto full = publish_policy(*maps, CGFENCE_MAX_CONTAINERS + 1, policy);
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().errnum == E2BIG);
    CHECK(full.error().message().find("gc") != std::string::npos);
    CHECK(registered_cgroups(*maps)->size() == CGFENCE_MAX_CONTAINERS);
    CHECK(read_policy(*maps, 1).ok());
}

TEST_CASE("unload refuses while containers are registered, --force ends it all")
{
    PrivateBpffs bpffs;
    REQUIRE(bpffs.cgfencectl({"load", "--maps-only"}) == 0);
    {
        auto maps = PinnedMaps::open(PinLayout{bpffs.pin_dir});
        REQUIRE(maps.ok());
        REQUIRE(publish_policy(*maps, 7, sample_policy()).ok());
    }
    CHECK(bpffs.cgfencectl({"unload"}) == 4);
    CHECK(fs::exists(PinLayout{bpffs.pin_dir}.map("policies")));
    CHECK(bpffs.cgfencectl({"unload", "--force"}) == 0);
    CHECK_FALSE(fs::exists(bpffs.pin_dir));
    auto status = read_status(PinLayout{bpffs.pin_dir});
    REQUIRE(status.ok());
    CHECK_FALSE(status->pinned);
}

TEST_CASE("a pinned map of another layout is refused with a clear error, not reused")
{
    PrivateBpffs bpffs;
    PinLayout pins{bpffs.pin_dir};
    REQUIRE(prepare_pin_dir(pins.root).ok());
    // A "policies" map as an older build might have left it: other value size.
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "policies", 8, 4, 16, nullptr);
    REQUIRE(fd >= 0);
    REQUIRE(bpf_obj_pin(fd, pins.map("policies").c_str()) == 0);
    ::close(fd);
    auto report = load({pins, true});
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().message().find("unload --force") != std::string::npos);
}

TEST_CASE("the cgroup id is the cgroup directory's inode number and its file handle")
{
    TestCgroup cgroup("id");
    alignas(file_handle) unsigned char storage[sizeof(file_handle) + 8] = {};
    auto *handle = reinterpret_cast<file_handle *>(storage);
    handle->handle_bytes = 8;
    int mount_id = 0;
    REQUIRE(::name_to_handle_at(AT_FDCWD, cgroup.path().c_str(), handle, &mount_id, 0) == 0);
    uint64_t from_handle = 0;
    std::memcpy(&from_handle, storage + sizeof(file_handle), sizeof(from_handle));
    CHECK(from_handle == cgroup.id());
}
