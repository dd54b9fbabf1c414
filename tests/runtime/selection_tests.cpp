// Which containers get which policy: profile selection (annotation, the
// config's default profile, none), the mode annotation, an unknown profile,
// what happens when cgfence is not loaded (on_unavailable), a setup that runs
// twice, and two runtimes' containers with one id.
#include <doctest/doctest.h>

#include <algorithm>
#include <unistd.h>

#include "checks.hpp"
#include "placement.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A bundle with the fence's hook at `stages` and `annotations`.
void prepare(Bundle &bundle, const Fence &fence, const std::vector<std::string> &stages,
             const std::map<std::string, std::string> &annotations = {})
{
    for (const auto &[key, value] : annotations)
        bundle.annotate(key, value);
    bundle.hook(fence.hook(), stages);
    bundle.write();
}

const std::vector<std::string> kPrestartPoststop = {"prestart", "poststop"};

// crun shows only a failed hook's exit code; its annotation
// run.oci.hooks.stderr sends the hooks' stderr to a file, where the reason is.
constexpr const char *kCrunHookStderr = "run.oci.hooks.stderr";

void check_unknown_profile_refused(Runtime runtime)
{
    Fence fence(std::string(name_of(runtime)) + "-unknown-profile");
    fence.write_profile("probe", probe_profile());
    TempDir logs;
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop,
            {{kProfileAnnotation, "no-such-profile"},
             {kCrunHookStderr, (logs / "hook-stderr").string()}});
    OciContainer container(runtime, bundle, "unknown-profile");
    const Finished run = container.run_detached();
    CHECK(run.status == 1);
    if (runtime == Runtime::runc) {
        CHECK(missing_words(run.err, {"error running hook #0", "exit status 1",
                                      "cgfence-hook: error: container " + container.id(),
                                      "no-such-profile"}) == "");
    } else {
        CHECK(run.err == "error executing hook `" + hook_path() + "` (exit code: 1)\n\n");
        CHECK(missing_words(
                  read_text(logs / "hook-stderr"),
                  {"cgfence-hook: error: container " + container.id(), "no-such-profile"}) == "");
    }
    CHECK(container.status() != "running");
    check_no_entries(fence.maps());
}

void check_setup_twice(Runtime runtime)
{
    Fence fence(std::string(name_of(runtime)) + "-twice");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    prepare(bundle, fence, {"prestart", "createRuntime", "poststop"},
            {{kProfileAnnotation, "probe"}});
    OciContainer container(runtime, bundle, "twice");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    const PinnedMaps maps = fence.maps();
    check_probe_policy(maps, container);
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

std::string state_json(const std::string &id, const std::string &status, pid_t pid,
                       const fs::path &bundle)
{
    return json{{"ociVersion", "1.0.2-dev"},
                {"id", id},
                {"status", status},
                {"pid", pid},
                {"bundle", bundle.string()}}
        .dump();
}

} // namespace

TEST_CASE("no profile selected (no annotation, no default): the hook exits 0 and writes nothing" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("no-profile");
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop);
    // The hook alone, as a runtime would run it: nothing to say, nothing to do.
    const HookCommand hook = fence.hook();
    std::vector<std::string> argv = hook.args;
    argv.front() = hook.path;
    CHECK(summary(run_captured(argv, state_json("direct", "creating", ::getpid(), bundle.dir()))) ==
          "exit 0");
    // And in a real container.
    OciContainer container(Runtime::runc, bundle, "no-profile");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    CHECK(container.status() == "running");
    check_no_entries(fence.maps());
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(fence.maps());
}

TEST_CASE(
    "runc: an unknown profile keeps the container from starting, and the error names the hook" *
    CGFENCE_HOST_ONLY)
{
    check_unknown_profile_refused(Runtime::runc);
}

TEST_CASE(
    "crun: an unknown profile keeps the container from starting, and the error names the hook" *
    CGFENCE_HOST_ONLY)
{
    check_unknown_profile_refused(Runtime::crun);
}

TEST_CASE(
    "podman: an unknown profile keeps the container from starting, and the error names the hook" *
    CGFENCE_HOST_ONLY)
{
    Fence fence("podman-unknown-profile");
    TempDir rootfs;
    TempDir logs;
    make_busybox_tree(rootfs.path());
    PodmanContainer container(fence.hooks_dir(), rootfs.path());
    const Finished run = container.run_detached(
        {"--annotation", std::string(kProfileAnnotation) + "=no-such-profile", "--annotation",
         std::string(kCrunHookStderr) + "=" + (logs / "hook-stderr").string()},
        {"sleep", "3600"});
    CHECK(summary(run) ==
          "exit 126, stderr: Error: OCI runtime error: crun: error executing hook `" + hook_path() +
              "` (exit code: 1)\n");
    CHECK(missing_words(read_text(logs / "hook-stderr"),
                        {"cgfence-hook: error: container ", "no-such-profile"}) == "");
    check_no_entries(fence.maps());
}

TEST_CASE("the config's default_profile applies to a container without annotation" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("default-profile");
    fence.write_profile("probe", probe_profile());
    json config = Fence::base_config();
    config["default_profile"] = "probe";
    fence.write_config(config);
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop);
    OciContainer container(Runtime::runc, bundle, "default-profile");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    const PinnedMaps maps = fence.maps();
    check_probe_policy(maps, container);
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

TEST_CASE("io.cgfence.mode=audit sets audit mode in the record and in the policy's settings")
{
    Fence fence("audit-mode");
    fence.write_profile("probe", probe_profile()); // mode enforce
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop,
            {{kProfileAnnotation, "probe"}, {kModeAnnotation, "audit"}});
    OciContainer container(Runtime::runc, bundle, "audit-mode");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    const PinnedMaps maps = fence.maps();
    const uint64_t cgroup = cgroup_id_of(container.pid());
    const MapEntries entries = map_entries(maps);
    REQUIRE(entries.records.size() == 1);
    CHECK(entries.records.front().value.mode == CGFENCE_MODE_AUDIT);
    CHECK(std::string(entries.records.front().value.profile) == "probe");
    auto policy = read_policy(maps, cgroup);
    REQUIRE(policy.ok());
    CHECK(policy->settings.mode == CGFENCE_MODE_AUDIT);
    if (in_vm()) {
        // /etc is read-only under probe: in audit mode the write goes through, counted.
        CHECK(summary(container.exec({"sh", "-c", "echo x > /etc/audited"})) == "exit 0");
        auto counters = read_counters(maps, cgroup);
        REQUIRE(counters.ok());
        CHECK(counters->denied == 0);
        CHECK(counters->audited > 0);
    }
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}

TEST_CASE("on_unavailable refuse (the default): with nothing pinned the container does not start" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("refuse-unpinned", Pins::absent);
    fence.write_config(json::object());
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop, {{kProfileAnnotation, "probe"}});
    OciContainer container(Runtime::runc, bundle, "refuse-unpinned");
    const Finished run = container.run_detached();
    CHECK(run.status == 1);
    CHECK(missing_words(run.err, {"cgfencectl load", "not loaded"}) == "");
    CHECK(container.status() != "running");
    CHECK_FALSE(fs::exists(fence.pin_dir()));
}

TEST_CASE(
    "on_unavailable refuse: maps pinned without the program (load --maps-only) are refused too" *
    CGFENCE_HOST_ONLY)
{
    Fence fence("refuse-maps-only", Pins::maps_only);
    fence.write_config(json{{"on_unavailable", "refuse"}});
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop, {{kProfileAnnotation, "probe"}});
    OciContainer container(Runtime::runc, bundle, "refuse-maps-only");
    const Finished run = container.run_detached();
    CHECK(run.status == 1);
    CHECK(missing_words(run.err, {"cgfencectl load", "not attached"}) == "");
    CHECK(container.status() != "running");
    check_no_entries(fence.maps());
}

TEST_CASE("on_unavailable allow: with nothing pinned the container starts and nothing is written" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("allow-unpinned", Pins::absent);
    fence.write_config(json{{"on_unavailable", "allow"}});
    fence.write_profile("probe", probe_profile());
    Bundle bundle;
    prepare(bundle, fence, kPrestartPoststop, {{kProfileAnnotation, "probe"}});
    OciContainer container(Runtime::runc, bundle, "allow-unpinned");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    CHECK(container.status() == "running");
    CHECK_FALSE(fs::exists(fence.pin_dir()));
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    CHECK_FALSE(fs::exists(fence.pin_dir()));
}

TEST_CASE("runc: setup at prestart and again at createRuntime leaves one record and one policy" *
          CGFENCE_HOST_ONLY)
{
    check_setup_twice(Runtime::runc);
}

TEST_CASE("crun: setup at prestart and again at createRuntime leaves one record and one policy" *
          CGFENCE_HOST_ONLY)
{
    check_setup_twice(Runtime::crun);
}

TEST_CASE(
    "runc and crun containers with the same id get a record each; deleting one leaves the other" *
    CGFENCE_HOST_ONLY)
{
    Fence fence("same-id");
    fence.write_profile("probe", probe_profile());
    Bundle runc_bundle;
    Bundle crun_bundle;
    const std::string id = unique_name("same-id");
    // Cgroups of their own: by default both runtimes would use /<id>.
    const CgroupParent runc_parent(unique_name("runc"));
    const CgroupParent crun_parent(unique_name("crun"));
    runc_bundle.config["linux"]["cgroupsPath"] = runc_parent.path(id);
    crun_bundle.config["linux"]["cgroupsPath"] = crun_parent.path(id);
    prepare(runc_bundle, fence, kPrestartPoststop, {{kProfileAnnotation, "probe"}});
    prepare(crun_bundle, fence, kPrestartPoststop, {{kProfileAnnotation, "probe"}});
    OciContainer runc(Runtime::runc, runc_bundle, "same-id");
    OciContainer crun(Runtime::crun, crun_bundle, "same-id");
    REQUIRE(runc.id() == crun.id());
    REQUIRE(summary(runc.run_detached()) == "exit 0");
    REQUIRE(summary(crun.run_detached()) == "exit 0");
    const uint64_t runc_cgroup = cgroup_id_of(runc.pid());
    const uint64_t crun_cgroup = cgroup_id_of(crun.pid());
    const PinnedMaps maps = fence.maps();
    const std::string runc_record =
        id + " " + runc.bundle() + " probe " + std::to_string(runc_cgroup) + "\n";
    const std::string crun_record =
        id + " " + crun.bundle() + " probe " + std::to_string(crun_cgroup) + "\n";
    CHECK(records_text(map_entries(maps).records) ==
          std::min(runc_record, crun_record) + std::max(runc_record, crun_record));
    CHECK(keys_text(map_entries(maps).policies) == keys_text({runc_cgroup, crun_cgroup}));

    CHECK(summary(runc.stop_and_delete()) == "exit 0");
    const MapEntries left = map_entries(maps);
    CHECK(records_text(left.records) == crun_record);
    CHECK(keys_text(left.policies) == std::to_string(crun_cgroup));
    CHECK(keys_text(left.counters) == std::to_string(crun_cgroup));
    CHECK(keys_text(left.containers) == std::to_string(crun_cgroup));
    CHECK(summary(crun.stop_and_delete()) == "exit 0");
    check_no_entries(maps);
}
