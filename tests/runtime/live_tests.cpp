// Live changes and learning, on real runc containers: `cgfencectl apply`
// replaces a running container's policy (or its mode) in one step and its
// record says so; `cgfencectl profile learn` turns what the learned map holds
// into paths of the container's view. On the host the learned map is filled
// by the test (the host's kernel runs no BPF LSM program); in the VM the
// program fills it, and the learned profile confines the same workload.
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sstream>

#include "checks.hpp"
#include "placement.hpp"
#include "container_cgroup.hpp"
#include "learned.hpp"
#include "profile.hpp"
#include "skip.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void start(OciContainer &container)
{
    REQUIRE(summary(container.run_detached()) == "exit 0");
    REQUIRE(container.status() == "running");
}

json next_profile()
{
    return {{"default", "allow"},
            {"rules", {{{"path", "/etc"}, {"access", "rw"}}, {{"path", "/tmp"}, {"access", "r"}}}}};
}

size_t rules_flagged(const ContainerPolicy &policy, uint8_t flag)
{
    size_t count = 0;
    for (const auto &[key, rule] : policy.rules)
        count += (rule.flags & flag) ? 1 : 0;
    return count;
}

std::string policy_text(const ContainerPolicy &policy)
{
    std::string text = "mode " + std::to_string(policy.settings.mode) + ", default " +
                       access_text(policy.settings.default_access) + ":";
    for (const auto &[key, rule] : policy.rules)
        text +=
            " " + key_text(key) + "=" + access_text(rule.access) + "/" + std::to_string(rule.flags);
    return text;
}

ContainerRecord only_record(const PinnedMaps &maps)
{
    auto records = all_records(maps);
    REQUIRE(records.ok());
    REQUIRE(records->size() == 1);
    return records->front();
}

// A running runc container with the probe profile, and its policy then.
struct ProbeContainer {
    Fence fence;
    Bundle bundle;
    OciContainer container;
    PinnedMaps maps;
    uint64_t cgroup = 0;
    ContainerPolicy started;

    ProbeContainer(const std::string &what, RootfsKind kind = RootfsKind::plain)
        : fence(what), bundle(kind), container(Runtime::runc, bundle, what), maps(fence.maps())
    {
        fence.write_profile("probe", probe_profile());
        bundle.annotate(kProfileAnnotation, "probe").hook(fence.hook(), {"prestart", "poststop"});
        bundle.write();
        start(container);
        cgroup = cgroup_id_of(container.pid());
        auto policy = read_policy(maps, cgroup);
        REQUIRE(policy.ok());
        started = *policy;
    }
};

void check_profile_replaced(RootfsKind kind)
{
    ProbeContainer probe(kind == RootfsKind::overlay ? "apply-ovl" : "apply", kind);
    auto &[fence, bundle, container, maps, cgroup, started] = probe;
    fence.write_profile("next", next_profile());
    const ContainerPolicy *before = &started;
    const ContainerRecord record_before = only_record(maps);
    const std::string mountinfo = mountinfo_inside(container);
    const PolicyKey etc = key_inside(container, "/etc", mountinfo);
    const PolicyKey tmp = key_inside(container, "/tmp", mountinfo);
    const PolicyKey busybox = key_inside(container, "/bin/busybox", mountinfo);
    CHECK(rule_text(*before, etc) == "r");

    const Finished applied =
        fence.cgfencectl({"apply", container.id(), "next", "--profile-dir", fence.profile_dir()});
    CHECK(summary(applied) == "exit 0, stdout: " + container.id() +
                                  ": profile next, mode enforce, " +
                                  std::to_string(before->rules.size() - 1) + " rules in force\n");
    auto after = read_policy(maps, cgroup);
    REQUIRE(after.ok());
    CHECK(rule_text(*after, etc) == "rw");
    CHECK(rule_text(*after, tmp) == "r");
    CHECK(rule_text(*after, busybox) == "absent");
    CHECK(after->settings.default_access == CGFENCE_ACCESS_ALL);
    // Mount roots found again in the running view; overlay layers carried over.
    CHECK(rules_flagged(*after, CGFENCE_RULE_MOUNT_BOUNDARY) ==
          rules_flagged(*before, CGFENCE_RULE_MOUNT_BOUNDARY));
    CHECK(rules_flagged(*after, CGFENCE_RULE_OVERLAY_LAYER) ==
          rules_flagged(*before, CGFENCE_RULE_OVERLAY_LAYER));
    CHECK(rules_flagged(*after, CGFENCE_RULE_OVERLAY_LAYER) ==
          (kind == RootfsKind::overlay ? 3U : 0U));

    const ContainerRecord record = only_record(maps);
    CHECK(std::string(record.value.profile) == "next");
    CHECK(record.value.created_ns == record_before.value.created_ns);
    CHECK(record.value.updated_ns > record_before.value.updated_ns);
    CHECK(record.value.rule_count == after->rules.size());
    auto shown = json::parse(fence.cgfencectl({"show", container.id()}).out);
    CHECK(shown["profile"] == "next");
    CHECK(shown["mode"] == "enforce");

    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

} // namespace

TEST_CASE("apply: a running container's profile is replaced in one step (plain rootfs)" *
          CGFENCE_HOST_ONLY)
{
    check_profile_replaced(RootfsKind::plain);
}

TEST_CASE("apply: a running container's profile is replaced in one step (overlay rootfs)" *
          CGFENCE_HOST_ONLY)
{
    check_profile_replaced(RootfsKind::overlay);
}

TEST_CASE("apply --mode: only the mode changes; the record shows it" * CGFENCE_HOST_ONLY)
{
    ProbeContainer probe("apply-mode");
    auto &[fence, bundle, container, maps, cgroup, started] = probe;
    const ContainerPolicy *before = &started;

    CHECK(summary(fence.cgfencectl({"apply", container.id(), "--mode", "audit"})) ==
          "exit 0, stdout: " + container.id() + ": profile probe, mode audit, " +
              std::to_string(before->rules.size()) + " rules in force\n");
    auto audit = read_policy(maps, cgroup);
    REQUIRE(audit.ok());
    ContainerPolicy expected = *before;
    expected.settings.mode = CGFENCE_MODE_AUDIT;
    CHECK(policy_text(*audit) == policy_text(expected));
    CHECK(only_record(maps).value.mode == CGFENCE_MODE_AUDIT);

    // By cgroup id too, and by a unique prefix of the id.
    CHECK(fence.cgfencectl({"apply", std::to_string(cgroup), "--mode", "learn"}).status == 0);
    CHECK(only_record(maps).value.mode == CGFENCE_MODE_LEARN);
    CHECK(fence.cgfencectl({"apply", container.id().substr(0, 12), "--mode", "enforce"}).status ==
          0);
    auto enforce = read_policy(maps, cgroup);
    REQUIRE(enforce.ok());
    CHECK(policy_text(*enforce) == policy_text(*before));
    CHECK(only_record(maps).value.mode == CGFENCE_MODE_ENFORCE);
    CHECK(summary(container.stop_and_delete()) == "exit 0");
}

TEST_CASE("apply: bad input is refused with a reason, and the policy stays as it was" *
          CGFENCE_HOST_ONLY)
{
    ProbeContainer probe("apply-bad");
    auto &[fence, bundle, container, maps, cgroup, started] = probe;
    const ContainerPolicy *before = &started;
    fence.write_profile("broken", json{{"default", "maybe"}});
    const std::string dir = fence.profile_dir();

    const Finished unknown = fence.cgfencectl({"apply", "no-such-container", "probe"});
    CHECK(unknown.status == 1);
    CHECK(missing_words(unknown.err, {"no-such-container", "none is registered"}) == "");
    const Finished absent =
        fence.cgfencectl({"apply", container.id(), "nope", "--profile-dir", dir});
    CHECK(absent.status == 1);
    CHECK(missing_words(absent.err, {"nope.json"}) == "");
    const Finished broken =
        fence.cgfencectl({"apply", container.id(), "broken", "--profile-dir", dir});
    CHECK(broken.status == 1);
    CHECK(missing_words(broken.err, {"broken.json", "default"}) == "");
    CHECK(fence.cgfencectl({"apply", container.id()}).status == 2);
    CHECK(fence.cgfencectl({"apply", container.id(), "--mode", "lax"}).status == 2);
    auto after = read_policy(maps, cgroup);
    REQUIRE(after.ok());
    CHECK(policy_text(*after) == policy_text(*before));
    CHECK(std::string(only_record(maps).value.profile) == "probe");

    // A teardown interrupted after the policy went (the record is left):
    // nothing is revived.
    REQUIRE(withdraw_policy(maps, cgroup).ok());
    const Finished unregistered =
        fence.cgfencectl({"apply", container.id(), "probe", "--profile-dir", dir});
    CHECK(unregistered.status == 1);
    CHECK(missing_words(unregistered.err, {"no longer registered"}) == "");
    CHECK_FALSE(*has_policy(maps, cgroup));

    // Gone: nothing is revived.
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    CHECK(fence.cgfencectl({"apply", container.id(), "probe", "--profile-dir", dir}).status == 1);
    check_no_entries(maps);
}

namespace {

// A bundle whose process may chroot (runc spec's default capabilities do not
// include it), with a busybox at /jail/bin.
void allow_chroot_into_jail(Bundle &bundle)
{
    for (const char *set : {"bounding", "effective", "permitted"})
        bundle.config["process"]["capabilities"][set].push_back("CAP_SYS_CHROOT");
    fs::create_directories(bundle.rootfs() / "jail/bin");
    fs::create_directories(bundle.rootfs() / "jail/etc");
    fs::copy_file(bundle.rootfs() / "bin/busybox", bundle.rootfs() / "jail/bin/busybox");
}

} // namespace

TEST_CASE("apply and profile learn look only through a process with the container's own view" *
          CGFENCE_HOST_ONLY)
{
    // Every process of this container chrooted into /jail: none has the view
    // the container started with, so neither resolves paths in a view the
    // container chose (where /etc could be any inode).
    Fence fence("apply-view");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    allow_chroot_into_jail(bundle);
    bundle.annotate(kProfileAnnotation, "probe")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args({"sh", "-c",
               "chroot /jail /bin/busybox sleep 1000 & exec chroot /jail /bin/busybox sleep 1001"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "apply-view");
    start(container);
    const PinnedMaps maps = fence.maps();
    const uint64_t cgroup = cgroup_id_of(container.pid());
    // Both processes chrooted (inside /jail there is no /jail).
    REQUIRE(wait_until([&] {
        auto path = unified_cgroup_path(std::to_string(container.pid()));
        auto mount = cgroup2_mount_point();
        if (!path || !mount)
            return false;
        std::istringstream pids(read_text(fs::path(*mount + *path) / "cgroup.procs"));
        int count = 0;
        bool jailed = true;
        for (std::string pid; pids >> pid; count++)
            jailed = jailed && !fs::exists("/proc/" + pid + "/root/jail");
        return count == 2 && jailed;
    }));
    auto before = read_policy(maps, cgroup);
    REQUIRE(before.ok());
    const std::string dir = fence.profile_dir();
    for (const std::vector<std::string> &command :
         {std::vector<std::string>{"apply", container.id(), "probe", "--profile-dir", dir},
          std::vector<std::string>{"profile", "learn", container.id(), "--profile-dir", dir}}) {
        const Finished refused = fence.cgfencectl(command);
        CHECK(refused.status == 1);
        CHECK(missing_words(refused.err, {"none has the container's view"}) == "");
    }
    auto after = read_policy(maps, cgroup);
    REQUIRE(after.ok());
    CHECK(policy_text(*after) == policy_text(*before));
    CHECK(summary(container.stop_and_delete()) == "exit 0");
}

TEST_CASE("apply resolves paths through the process that has the container's view, not a chrooted "
          "one" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("apply-view-mixed");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    allow_chroot_into_jail(bundle);
    // The chrooted process starts first: the lower pid.
    bundle.annotate(kProfileAnnotation, "probe")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args({"sh", "-c", "chroot /jail /bin/busybox sleep 1000 & exec sleep 1001"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "apply-view-mixed");
    start(container);
    const PinnedMaps maps = fence.maps();
    const uint64_t cgroup = cgroup_id_of(container.pid());
    CHECK(fence.cgfencectl({"apply", container.id(), "probe", "--profile-dir", fence.profile_dir()})
              .status == 0);
    auto after = read_policy(maps, cgroup);
    REQUIRE(after.ok());
    const std::string mountinfo = mountinfo_inside(container);
    CHECK(rule_text(*after, key_inside(container, "/etc", mountinfo)) == "r");
    CHECK(
        rule_text(*after, PolicyKey{CGFENCE_KEY_INODE, key_inside(container, "/etc", mountinfo).dev,
                                    key_of(bundle.rootfs() / "jail/etc").ino}) == "absent");
    CHECK(summary(container.stop_and_delete()) == "exit 0");
}

namespace {

void remember(const PinnedMaps &maps, uint64_t cgroup, const PolicyKey &object, uint8_t wanted,
              uint64_t parent_ino, uint64_t magic, const std::string &name)
{
    cgfence_learned_key key{};
    key.container = cgroup;
    key.dev = object.dev;
    key.ino = object.ino;
    key.wanted = wanted;
    cgfence_learned value{};
    value.parent_ino = parent_ino;
    value.fs_magic = magic;
    value.hook = CGFENCE_HOOK_FILE_OPEN;
    std::snprintf(value.name, sizeof(value.name), "%s", name.c_str());
    REQUIRE(bpf_map_update_elem(maps.learned.get(), &key, &value, BPF_NOEXIST) == 0);
}

} // namespace

TEST_CASE("profile learn: what the learned map holds becomes paths and rules of the view" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("learn-read");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    for (const char *dir : {"srv", "opt", "var/cache"})
        fs::create_directories(bundle.rootfs() / dir);
    for (const char *file : {"srv/a", "srv/b", "srv/c", "srv/d", "opt/tool", "opt/other"})
        write_file(bundle.rootfs() / file, "x\n");
    bundle.annotate(kProfileAnnotation, "probe")
        .annotate(kModeAnnotation, "learn")
        .hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "learn-read");
    start(container);
    const PinnedMaps maps = fence.maps();
    const uint64_t cgroup = cgroup_id_of(container.pid());
    const std::string mountinfo = mountinfo_inside(container);
    auto key = [&](const std::string &path) { return key_inside(container, path, mountinfo); };
    const uint64_t magic = 0xef53; // any filesystem with paths
    remember(maps, cgroup, key("/srv/a"), R, key("/srv").ino, magic, "a");
    remember(maps, cgroup, key("/srv/b"), R, key("/srv").ino, magic, "b");
    remember(maps, cgroup, key("/srv/c"), R | X, key("/srv").ino, magic, "c");
    remember(maps, cgroup, key("/opt/tool"), X, key("/opt").ino, magic, "tool");
    // A file made in /var/cache and gone: a recursive rule there.
    const PolicyKey cache = key("/var/cache");
    remember(maps, cgroup, PolicyKey{CGFENCE_KEY_INODE, cache.dev, 987654321}, R | W, cache.ino,
             magic, "tmp.1");
    // proc: a filesystem rule; something gone with its directory: reported.
    remember(maps, cgroup, key("/proc"), R, 1, PROC_SUPER_MAGIC, "status");
    remember(maps, cgroup, PolicyKey{CGFENCE_KEY_INODE, cache.dev, 987654322}, W, 987654323, magic,
             "lost.txt");
    cgfence_container_state limiter{};
    REQUIRE(bpf_map_lookup_elem(maps.containers.get(), &cgroup, &limiter) == 0);
    limiter.learned = 7; // as the program counts them
    REQUIRE(bpf_map_update_elem(maps.containers.get(), &cgroup, &limiter, BPF_EXIST) == 0);

    const fs::path output = fs::path(fence.profile_dir()) / "learned.json";
    const Finished learned = fence.cgfencectl({"profile", "learn", container.id(), "--profile-dir",
                                               fence.profile_dir(), "-o", output.string()});
    CHECK(learned.status == 0);
    CHECK(learned.out == "");
    MESSAGE(learned.err);
    CHECK(read_text(output) == R"({
  "mode": "enforce",
  "default": "deny",
  "rules": [
    {"path": "/etc", "access": "r"},
    {"path": "/tmp", "access": "rw"},
    {"path": "/bin/busybox", "access": "rx"},
    {"path": "/opt/tool", "access": "x"},
    {"path": "/srv", "access": "rx"},
    {"path": "/var/cache", "access": "rw"},
    {"fs": "proc", "access": "r"}
  ]
}
)");
    CHECK(missing_words(learned.err,
                        {"3 rules kept from profile probe (0 widened), 4 learned rules added",
                         "/srv: one recursive rule, rx: 3 of its 4 entries were used",
                         "/var/cache: one recursive rule, rw: names were made or removed",
                         "fs proc: r", "not covered: \"lost.txt\"",
                         "rules written to " + output.string()}) == "");
    CHECK(summary(fence.cgfencectl({"profile", "check", output.string()})) ==
          "exit 0, stdout: " + output.string() + ": ok: enforce, default deny, 7 rules\n" +
              "  warning: " + output.string() +
              ":8: access \"x\" has x without r (shared libraries and scripts need both: use "
              "\"rx\")\n");
    // To stdout, from another starting profile.
    const Finished to_stdout =
        fence.cgfencectl({"profile", "learn", container.id(), "--from", output.string(),
                          "--profile-dir", fence.profile_dir()});
    CHECK(to_stdout.status == 0);
    CHECK(to_stdout.out == read_text(output));

    // Poststop forgets what was learned.
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
    auto left = learned_accesses(maps, cgroup);
    REQUIRE(left.ok());
    CHECK(left->size() == 0);
}

namespace {

// Reads, writes and execs across several directories; with an argument,
// also reads that file.
constexpr const char *kWorkload = R"(set -e
cat /srv/data/a /srv/data/b /srv/data/c > /dev/null
ls /srv/data > /dev/null
cat /opt/conf/one > /dev/null
/opt/tool/run > /dev/null
mkdir -p /var/cache/app
echo state > /var/cache/app/state
cat /var/cache/app/state > /dev/null
echo scratch > /var/cache/app/scratch.$$
rm /var/cache/app/scratch.$$
if [ -n "$1" ]; then cat "$1" > /dev/null; fi
echo done > /state/done
)";

} // namespace

TEST_CASE("profile learn: a workload learned under minimal runs confined by what was learned; "
          "one new access is denied and reported" *
          CGFENCE_VM_ONLY)
{
    Fence fence("learn-loop");
    fence.write_shipped_profile("minimal");
    Bundle bundle;
    for (const char *dir : {"srv/data", "opt/conf", "opt/exec", "opt/tool", "var/cache", "state"})
        fs::create_directories(bundle.rootfs() / dir);
    for (const char *file :
         {"srv/data/a", "srv/data/b", "srv/data/c", "srv/data/d", "opt/conf/one", "opt/conf/two",
          "opt/conf/three", "opt/exec/seen", "opt/exec/other", "opt/exec/more"})
        write_file(bundle.rootfs() / file, "x\n");
    add_script(bundle, "/opt/tool/run", "echo tool\n");
    add_script(bundle, "/work.sh", kWorkload);
    bundle.annotate(kProfileAnnotation, "minimal")
        .annotate(kModeAnnotation, "learn")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args({"sh", "-c", "/work.sh && exec sleep 1000"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "learn-loop");
    start(container);
    REQUIRE(wait_until([&] { return fs::exists(bundle.rootfs() / "state/done"); }, 60s));
    // What a process exec'd into the container does is learned too.
    CHECK(summary(container.exec({"cat", "/opt/exec/seen"})) == "exit 0, stdout: x\n");

    const fs::path learned = fs::path(fence.profile_dir()) / "learned.json";
    const Finished learn = fence.cgfencectl({"profile", "learn", container.id(), "--profile-dir",
                                             fence.profile_dir(), "-o", learned.string()});
    REQUIRE_MESSAGE(learn.status == 0, summary(learn));
    MESSAGE("learned profile:\n" << read_text(learned) << learn.err);
    CHECK(fence.cgfencectl({"profile", "check", learned.string()}).status == 0);
    CHECK(missing_words(learn.err,
                        {"rules kept from profile minimal", "/srv/data: one recursive rule, r",
                         "/var/cache: one recursive rule, rw: names were made",
                         "/state: one recursive rule, w: names were made"}) == "");
    CHECK(missing_words(read_text(learned), {R"({"path": "/work.sh", "access": "rx"})",
                                             R"({"path": "/opt/conf/one", "access": "r"})",
                                             R"({"path": "/opt/exec/seen", "access": "r"})",
                                             R"({"path": "/opt/tool/run", "access": "rx"})"}) ==
          "");
    CHECK(with_verdict(fence.new_events(), "denied").empty());
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(fence.maps());

    // What the workload made is gone, as in a new container of the image.
    fs::remove_all(bundle.rootfs() / "var/cache/app");
    fs::remove(bundle.rootfs() / "state/done");
    bundle.config["annotations"].erase(kModeAnnotation);
    bundle.annotate(kProfileAnnotation, "learned");
    CHECK(summary(run_as_container(container, bundle, {"/work.sh"})) == "exit 0");
    CHECK(fs::exists(bundle.rootfs() / "state/done"));
    CHECK(fence.new_events().empty());

    CHECK(summary(run_as_container(container, bundle, {"/work.sh", "/opt/conf/two"})) ==
          "exit 1, stderr: cat: can't open '/opt/conf/two': Permission denied\n");
    const std::vector<json> denied = fence.new_events();
    REQUIRE(denied.size() == 1);
    CHECK(denied[0]["verdict"] == "denied");
    CHECK(denied[0]["name"] == "two");
    CHECK(denied[0]["wanted"] == "r");
    CHECK(denied[0]["hook"] == "file_open");
    check_no_entries(fence.maps());
}

namespace {

// The runs of equal lines in `text`: "allowed denied allowed".
std::string runs_of(const std::string &text)
{
    std::string runs;
    std::string last;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line != last)
            runs += (runs.empty() ? "" : " ") + line;
        last = line;
    }
    return runs;
}

} // namespace

TEST_CASE("apply: a process that keeps opening a file sees its verdict change at each apply, and "
          "only then" *
          CGFENCE_VM_ONLY)
{
    Fence fence("apply-flip");
    fence.write_profile("open", json{{"default", "allow"}});
    fence.write_profile(
        "closed", json{{"default", "allow"}, {"rules", {{{"path", "/srv/f"}, {"access", ""}}}}});
    TempDir out;
    Bundle bundle;
    fs::create_directories(bundle.rootfs() / "srv");
    write_file(bundle.rootfs() / "srv/f", "x\n");
    add_script(bundle, "/loop.sh",
               "while :; do\n"
               "  if cat /srv/f > /dev/null 2>&1; then echo allowed; else echo denied; fi >> "
               "/out/log\n"
               "done\n");
    bundle.bind_mount(out.path(), "/out")
        .annotate(kProfileAnnotation, "open")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args({"/loop.sh"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "apply-flip");
    start(container);
    const fs::path log = out / "log";
    // Waits until the log's last `count` lines are `verdict`.
    auto settled_on = [&](const std::string &verdict, int count = 5) {
        return wait_until([&] {
            const std::string text = read_text(log);
            std::string tail;
            for (int i = 0; i < count; i++)
                tail += verdict + "\n";
            return text.size() >= tail.size() && text.ends_with(tail);
        });
    };
    const std::string dir = fence.profile_dir();
    REQUIRE(settled_on("allowed"));
    CHECK(fence.cgfencectl({"apply", container.id(), "closed", "--profile-dir", dir}).status == 0);
    REQUIRE(settled_on("denied"));
    CHECK(fence.cgfencectl({"apply", container.id(), "--mode", "audit"}).status == 0);
    REQUIRE(settled_on("allowed"));
    CHECK(fence.cgfencectl({"apply", container.id(), "--mode", "enforce"}).status == 0);
    REQUIRE(settled_on("denied"));
    auto shown = json::parse(fence.cgfencectl({"show", container.id()}).out);
    CHECK(shown["profile"] == "closed");
    CHECK(shown["mode"] == "enforce");
    CHECK(summary(container.stop_and_delete()) == "exit 0");

    // Each change took hold once: no verdict went back and forth around it.
    CHECK(runs_of(read_text(log)) == "allowed denied allowed denied");
    const std::vector<json> events = fence.new_events();
    const std::vector<json> denied = with_verdict(events, "denied");
    REQUIRE_FALSE(denied.empty());
    CHECK(denied[0]["name"] == "f");
    CHECK_FALSE(with_verdict(events, "audited").empty());
    check_no_entries(fence.maps());
}
