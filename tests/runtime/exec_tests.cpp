// The runtimes' exec into a running container confined by a shipped profile:
// the exec'd process is confined like the container's own from its exec on,
// and the runtime's exec machinery, which works in the container's cgroup
// before that exec, is not judged. Enforcement is checked in the VM; on the
// host exec must work with the hook's maps in place.
#include <doctest/doctest.h>

#include "checks.hpp"

using namespace cgfence;
using namespace cgfence::test;

namespace {

const std::string kWork = "cat /etc/os-release; echo ok > /tmp/y; cat /tmp/y";

// What the profile forbids, how the exec'd process is told, and the record
// cgfence makes of it.
struct Forbidden {
    std::vector<std::string> command;
    std::string result;
    std::string verdict; // of the record
    std::string name;    // the object the record names
};

Forbidden forbidden_by(const std::string &profile)
{
    if (profile == "minimal")
        return {{"cat", "/secret"},
                "exit 1, stderr: cat: can't open '/secret': Permission denied\n",
                "denied",
                "secret"};
    if (profile == "audit") // minimal's rules, reported, not enforced
        return {{"cat", "/secret"}, "exit 0, stdout: " + std::string(kSecret), "audited", "secret"};
    return {{"sh", "-c", "/tmp/busybox echo inside"},
            "exit 126, stderr: sh: /tmp/busybox: Permission denied\n",
            "denied",
            "busybox"};
}

// The exec'd process is judged like the container's own: what the profile
// allows works, what it forbids is forbidden (or, in audit mode, reported),
// and the record says the task came in by an exec.
void check_exec_confined(const Fence &fence, const RunningContainer &container,
                         const std::string &profile)
{
    CHECK(summary(container.exec({"sh", "-c", kWork})) ==
          std::string("exit 0, stdout: ") + kOsRelease + "ok\n");
    if (!in_vm())
        return;
    (void)fence.new_events(); // what the container's start left
    const Forbidden forbidden = forbidden_by(profile);
    CHECK(summary(container.exec(forbidden.command)) == forbidden.result);
    bool recorded = false;
    for (const auto &event : with_verdict(fence.new_events(), forbidden.verdict)) {
        if (event["name"] == forbidden.name) {
            CHECK(event["origin"] == "exec");
            recorded = true;
        }
    }
    CHECK_MESSAGE(recorded, "no " << forbidden.verdict << " record of " << forbidden.name);
}

void check_exec(Runtime runtime, const std::string &profile)
{
    Fence fence(std::string(name_of(runtime)) + "-exec-" + profile);
    fence.write_shipped_profile(profile);
    Bundle bundle;
    add_binary_in_tmp(bundle);
    bundle.annotate(kProfileAnnotation, profile).hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(runtime, bundle, "exec");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    check_exec_confined(fence, container, profile);
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(fence.maps());
}

void check_podman_exec(const std::string &profile)
{
    Fence fence("podman-exec-" + profile);
    fence.write_shipped_profile(profile);
    TempDir rootfs;
    make_busybox_tree(rootfs.path());
    add_binary_in_tmp(rootfs.path());
    PodmanContainer container(fence.hooks_dir(), rootfs.path());
    REQUIRE(outcome(container.run_detached(
                {"--annotation", std::string(kProfileAnnotation) + "=" + profile},
                {"sleep", "3600"})) == "exit 0");
    check_exec_confined(fence, container, profile);
    const std::string id = container.id();
    CHECK(summary(container.remove()) == "exit 0, stdout: " + id + "\n");
    check_no_entries(fence.maps());
}

} // namespace

TEST_CASE("runc exec into a container under the minimal profile works, and is confined")
{
    check_exec(Runtime::runc, "minimal");
}

TEST_CASE("runc exec into a container under the default profile works, and is confined")
{
    check_exec(Runtime::runc, "default");
}

TEST_CASE("crun exec into a container under the minimal profile works, and is confined")
{
    check_exec(Runtime::crun, "minimal");
}

TEST_CASE("crun exec into a container under the default profile works, and is confined")
{
    check_exec(Runtime::crun, "default");
}

TEST_CASE("podman exec into a container under the minimal profile works, and is confined")
{
    check_podman_exec("minimal");
}

TEST_CASE("podman exec into a container under the default profile works, and is confined")
{
    check_podman_exec("default");
}

TEST_CASE("runc exec into a container under the audit profile works, and is reported")
{
    check_exec(Runtime::runc, "audit");
}

TEST_CASE("crun exec into a container under the audit profile works, and is reported")
{
    check_exec(Runtime::crun, "audit");
}

TEST_CASE("podman exec into a container under the audit profile works, and is reported")
{
    check_podman_exec("audit");
}
