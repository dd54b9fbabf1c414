// Real runc, crun and podman containers with cgfence-hook at prestart and
// poststop: while a container runs, the maps hold its policy (rules keyed as
// the container sees their paths, mount roots, overlay layers) and its
// record; once it is deleted nothing of it is left.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>

#include "checks.hpp"
#include "placement.hpp"
#include "kernel_dev.hpp"
#include "mountinfo.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Starts the container (`run -d`: its prestart hooks ran) and requires it running.
void start(OciContainer &container)
{
    REQUIRE(summary(container.run_detached()) == "exit 0");
    REQUIRE(container.status() == "running");
}

void check_lifecycle(Runtime runtime)
{
    Fence fence(std::string(name_of(runtime)) + "-lifecycle");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    bundle.annotate(kProfileAnnotation, "probe").hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(runtime, bundle, "lifecycle");
    start(container);
    const PinnedMaps maps = fence.maps();
    check_probe_policy(maps, container);
    // A plain directory rootfs: stat's st_dev is its filesystem's own device.
    const std::string mountinfo = mountinfo_inside(container);
    CHECK(stat_dev_inside(container, "/etc") == kernel_dev_at(mountinfo, "/etc"));

    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

// A container with a volume (a host directory bound at /data) and the
// profile "volume".
struct VolumeContainer {
    Fence fence;
    TempDir volume;
    Bundle bundle;
    OciContainer container;

    VolumeContainer(Runtime runtime, const std::string &what, const json &profile)
        : fence(std::string(name_of(runtime)) + "-" + what), container(runtime, bundle, what)
    {
        write_file(volume / "file", "on the volume\n");
        fence.write_profile("volume", profile);
        bundle.bind_mount(volume.path(), "/data")
            .annotate(kProfileAnnotation, "volume")
            .hook(fence.hook(), {"prestart", "poststop"});
        bundle.write();
    }
};

void check_rule_on_volume(Runtime runtime)
{
    const json profile = {{"default", "allow"}, {"rules", {{{"path", "/data"}, {"access", "rw"}}}}};
    VolumeContainer c(runtime, "volume-rule", profile);
    start(c.container);
    const PinnedMaps maps = c.fence.maps();
    auto policy = read_policy(maps, cgroup_id_of(c.container.pid()));
    REQUIRE(policy.ok());
    const PolicyKey inside = key_inside(c.container, "/data", mountinfo_inside(c.container));
    const ObjectKey host = key_of(c.volume.path());
    CHECK(key_text(inside) == key_text(PolicyKey{CGFENCE_KEY_INODE, host.dev, host.ino}));
    CHECK(rule_text(*policy, inside) == "rw");
    CHECK(summary(c.container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

void check_rule_carried_to_volume(Runtime runtime)
{
    // Default deny: without the carried rule the volume's root would be a
    // boundary where the default (nothing) applies.
    const json profile = {{"default", "deny"}, {"rules", {{{"path", "/"}, {"access", "rx"}}}}};
    VolumeContainer c(runtime, "volume-carried", profile);
    start(c.container);
    const PinnedMaps maps = c.fence.maps();
    auto policy = read_policy(maps, cgroup_id_of(c.container.pid()));
    REQUIRE(policy.ok());
    const std::string mountinfo = mountinfo_inside(c.container);
    CHECK(rule_text(*policy, key_inside(c.container, "/", mountinfo)) == "rx");
    CHECK(rule_text(*policy, key_inside(c.container, "/data", mountinfo)) == "rx");
    CHECK(summary(c.container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
    if (in_vm()) {
        // Enforced: the volume reads as the rootfs does, and takes no write.
        CHECK(summary(run_as_container(c.container, c.bundle, {"cat", "/data/file"})) ==
              "exit 0, stdout: on the volume\n");
        CHECK(
            summary(run_as_container(c.container, c.bundle, {"sh", "-c", "echo x > /data/new"})) ==
            "exit 1, stderr: sh: can't create /data/new: Permission denied\n");
        CHECK_FALSE(fs::exists(c.volume / "new"));
        check_no_entries(maps);
    }
}

void check_overlay_rootfs(Runtime runtime)
{
    Fence fence(std::string(name_of(runtime)) + "-overlay");
    fence.write_profile("probe", probe_profile());
    Bundle bundle(RootfsKind::overlay);
    bundle.annotate(kProfileAnnotation, "probe").hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(runtime, bundle, "overlay");
    start(container);
    const PinnedMaps maps = fence.maps();
    const OverlayRootfs &overlay = *bundle.overlay();
    check_probe_policy(maps, container, 3);

    auto policy = read_policy(maps, cgroup_id_of(container.pid()));
    REQUIRE(policy.ok());
    std::string layers;
    for (const fs::path &layer : {overlay.lower, overlay.upper, overlay.work}) {
        const ObjectKey key = key_of(layer);
        layers += layer.filename().string() + " " +
                  rule_text(*policy, PolicyKey{CGFENCE_KEY_INODE, key.dev, key.ino}) + "; ";
    }
    CHECK(layers == "lower - overlay-layer; upper - overlay-layer; work - overlay-layer; ");
    size_t marked = 0;
    for (const auto &[key, rule] : policy->rules)
        marked += (rule.flags & CGFENCE_RULE_OVERLAY_LAYER) != 0 ? 1 : 0;
    CHECK(marked == 3);

    // A file's rule carries the overlay mount's dev; stat() shows the lower
    // layer's pseudo device instead (layers on two filesystems).
    const std::string mountinfo = mountinfo_inside(container);
    const PolicyKey busybox = key_inside(container, "/bin/busybox", mountinfo);
    CHECK(busybox.dev == kernel_dev_at(mountinfo, "/"));
    CHECK(rule_text(*policy, busybox) == "rx");
    CHECK(stat_dev_inside(container, "/bin/busybox") != busybox.dev);

    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

} // namespace

TEST_CASE("runc: a running container's policy and record are in the maps, and gone after delete" *
          CGFENCE_HOST_ONLY)
{
    check_lifecycle(Runtime::runc);
}

TEST_CASE("crun: a running container's policy and record are in the maps, and gone after delete" *
          CGFENCE_HOST_ONLY)
{
    check_lifecycle(Runtime::crun);
}

TEST_CASE("podman: a running container's policy and record are in the maps, and gone after rm" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("podman-lifecycle");
    fence.write_profile("probe", probe_profile());
    TempDir rootfs;
    make_busybox_tree(rootfs.path());
    PodmanContainer container(fence.hooks_dir(), rootfs.path());
    const Finished run = container.run_detached(
        {"--annotation", std::string(kProfileAnnotation) + "=probe"}, {"sleep", "3600"});
    REQUIRE(outcome(run) == "exit 0");
    const PinnedMaps maps = fence.maps();
    check_probe_policy(maps, container);
    const std::string id = container.id();
    // podman's bundle is the container's userdata directory in its storage.
    const std::string bundle = container.bundle();
    const std::string userdata = "/vfs-containers/" + id + "/userdata";
    CHECK(bundle.substr(bundle.size() - std::min(bundle.size(), userdata.size())) == userdata);
    CHECK(summary(container.remove()) == "exit 0, stdout: " + id + "\n");
    check_no_entries(maps);
}

TEST_CASE("runc: a rule on a volume is keyed by the volume's root" * CGFENCE_HOST_ONLY)
{
    check_rule_on_volume(Runtime::runc);
}

TEST_CASE("crun: a rule on a volume is keyed by the volume's root" * CGFENCE_HOST_ONLY)
{
    check_rule_on_volume(Runtime::crun);
}

TEST_CASE("runc: a rule on / is carried to a volume's root")
{
    check_rule_carried_to_volume(Runtime::runc);
}

TEST_CASE("crun: a rule on / is carried to a volume's root")
{
    check_rule_carried_to_volume(Runtime::crun);
}

TEST_CASE("runc: an overlay rootfs's layers are marked and its rules carry the overlay's dev" *
          CGFENCE_HOST_ONLY)
{
    check_overlay_rootfs(Runtime::runc);
}

TEST_CASE("crun: an overlay rootfs's layers are marked and its rules carry the overlay's dev" *
          CGFENCE_HOST_ONLY)
{
    check_overlay_rootfs(Runtime::crun);
}

namespace {

// Waits until `log` has `lines` lines; its last line.
std::string last_line_once(const fs::path &log, size_t lines)
{
    std::string text;
    const bool arrived = wait_until([&] {
        text = read_text(log);
        return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) >= lines;
    });
    if (!arrived)
        return "(nothing after " + std::to_string(lines - 1) + " lines)";
    text.pop_back();
    return text.substr(text.rfind('\n') + 1);
}

} // namespace

TEST_CASE("runc: a task that left the container's cgroup outlives it: teardown and gc still clean "
          "up, and it is denied everything")
{
    Fence fence("runc-outlives");
    fence.write_profile("probe", probe_profile());
    TempDir out;
    REQUIRE(::mkfifo((out / "go").c_str(), 0600) == 0);
    Bundle bundle;
    // Tries a read each time it is told to; reports on descriptors it opened
    // before, so that it can report when it may open nothing.
    add_script(bundle, "/try.sh",
               "exec 3>>/out/log 4<>/out/go\n"
               "while read line <&4; do\n"
               "  if cat /etc/os-release >/dev/null 2>&1; then echo ok >&3; else echo denied >&3; "
               "fi\n"
               "done\n");
    bundle.bind_mount(out.path(), "/out")
        .annotate(kProfileAnnotation, "probe")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args({"sh", "-c", "/try.sh & exec sleep 1000"});
    // The host's pid namespace: in one of its own, the container's processes
    // would die with its init, wherever their cgroup.
    auto &namespaces = bundle.config["linux"]["namespaces"];
    namespaces.erase(std::remove(namespaces.begin(), namespaces.end(), json{{"type", "pid"}}),
                     namespaces.end());
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "outlives");
    start(container);
    size_t tries = 0;
    auto try_read = [&] {
        // Non-blocking: a fifo without its reader refuses, rather than hangs.
        const int go = ::open((out / "go").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (go < 0 || ::write(go, "go\n", 3) != 3)
            return std::string("(the script is gone)");
        ::close(go);
        return last_line_once(out / "log", ++tries);
    };
    REQUIRE(try_read() == "ok");
    // The host moves the script out of the container's cgroup (it could have
    // left itself by clone3(CLONE_INTO_CGROUP)); the container goes.
    const pid_t init = container.pid();
    std::ifstream children("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) +
                           "/children");
    pid_t escaped = 0;
    children >> escaped;
    REQUIRE(escaped > 0);
    TestCgroup elsewhere("outlives");
    std::ofstream(elsewhere.path() + "/cgroup.procs") << escaped << std::flush;
    // A hybrid host's runc kills what its v1 cgroups hold too: out of those.
    auto mounts = read_mountinfo();
    REQUIRE(mounts.ok());
    for (const MountEntry &m : *mounts) {
        if (m.fstype == "cgroup" && m.root == "/")
            std::ofstream(m.mount_point + "/cgroup.procs") << escaped << std::flush;
    }
    CHECK(try_read() == "ok");
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(fence.maps());
    CHECK(::kill(escaped, 0) == 0); // it lives on
    // Its container's policy is gone; it is still the container's: denied.
    CHECK(try_read() == (in_vm() ? "denied" : "ok"));
    CHECK(fence.cgfencectl({"gc"}).out ==
          "nothing to remove: every registered container's cgroup exists\n");
    const json stats = json::parse(fence.cgfencectl({"stats", "--json"}).out);
    CHECK(stats["containers"] == 0);
    if (in_vm())
        CHECK(stats["orphan_denied"].get<uint64_t>() >= 1);
    ::kill(escaped, SIGKILL);
}
