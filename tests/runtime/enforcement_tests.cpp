// Enforcement of real containers (VM only: the host's kernel refuses BPF LSM
// programs). runc and crun, a plain and an overlay rootfs, the shipped
// default-deny `minimal` and default-allow `default` profiles: the runtime's
// init is not broken, the container's ordinary work succeeds, what the
// profile forbids fails with EACCES inside and stays possible outside, and
// deleting the container leaves nothing in the maps. Each command is the
// process of a container of its own (`run`, to its end): the runtimes' exec
// has tests of its own (exec_tests.cpp).
#include <doctest/doctest.h>

#include <fcntl.h>

#include "checks.hpp"
#include "placement.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

void check_enforced(Runtime runtime, RootfsKind kind, const std::string &profile)
{
    const bool minimal = profile == "minimal";
    Fence fence(std::string(name_of(runtime)) + (kind == RootfsKind::overlay ? "-ovl-" : "-") +
                profile);
    fence.write_shipped_profile(profile);
    Bundle bundle(kind);
    add_binary_in_tmp(bundle);
    bundle.annotate(kProfileAnnotation, profile).hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(runtime, bundle, "enforce");
    const PinnedMaps maps = fence.maps();

    // The runtime's init runs to the first exec; outside, while the
    // container's policy is in force, its files are the host's to use.
    REQUIRE(summary(container.run_detached()) == "exit 0");
    CHECK(container.status() == "running");
    CHECK(open_errno(bundle.rootfs() / "secret", O_RDONLY) == 0);
    CHECK(read_text(bundle.rootfs() / "secret") == kSecret);
    CHECK(summary(run_captured({(bundle.rootfs() / "tmp/busybox").string(), "echo", "outside"})) ==
          "exit 0, stdout: outside\n");
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(maps);

    CHECK(summary(run_as_container(
              container, bundle,
              {"sh", "-c", "ls /; cat /etc/os-release; echo ok > /tmp/x; cat /tmp/x"})) ==
          std::string("exit 0, stdout: bin\ndev\netc\nproc\nsecret\nsys\ntmp\n") + kOsRelease +
              "ok\n");
    if (minimal)
        CHECK(summary(run_as_container(container, bundle, {"cat", "/secret"})) ==
              "exit 1, stderr: cat: can't open '/secret': Permission denied\n");
    else
        CHECK(summary(run_as_container(container, bundle, {"cat", "/secret"})) ==
              std::string("exit 0, stdout: ") + kSecret);
    CHECK(summary(run_as_container(container, bundle, {"sh", "-c", "/tmp/busybox echo inside"})) ==
          "exit 126, stderr: sh: /tmp/busybox: Permission denied\n");
    check_no_entries(maps);
}

// Logging to /dev/stdout (a symlink to /proc/self/fd/1) reopens the
// process's stdout; runtimes and engines hand containers pipes (conmon) or
// ttys. Here the reopened stdout is a pipe to cat, whose own stdout is ours.
void check_stdout_reopened(const std::string &profile)
{
    Fence fence("stdout-" + profile);
    fence.write_shipped_profile(profile);
    Bundle bundle;
    bundle.annotate(kProfileAnnotation, profile).hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "stdout");
    CHECK(summary(run_as_container(container, bundle,
                                   {"sh", "-c", "{ echo reopened > /dev/stdout; } | cat"})) ==
          "exit 0, stdout: reopened\n");
    check_no_entries(fence.maps());
}

} // namespace

TEST_SUITE_BEGIN(CGFENCE_VM_ONLY);

TEST_CASE("enforced: a process writes to its stdout pipe reopened as /dev/stdout (minimal)")
{
    check_stdout_reopened("minimal");
}

TEST_CASE("enforced: a process writes to its stdout pipe reopened as /dev/stdout (default)")
{
    check_stdout_reopened("default");
}

TEST_CASE("enforced: runc, plain rootfs, minimal profile")
{
    check_enforced(Runtime::runc, RootfsKind::plain, "minimal");
}

TEST_CASE("enforced: runc, overlay rootfs, minimal profile")
{
    check_enforced(Runtime::runc, RootfsKind::overlay, "minimal");
}

TEST_CASE("enforced: crun, plain rootfs, minimal profile")
{
    check_enforced(Runtime::crun, RootfsKind::plain, "minimal");
}

TEST_CASE("enforced: crun, overlay rootfs, minimal profile")
{
    check_enforced(Runtime::crun, RootfsKind::overlay, "minimal");
}

TEST_CASE("enforced: runc, plain rootfs, default profile")
{
    check_enforced(Runtime::runc, RootfsKind::plain, "default");
}

TEST_CASE("enforced: runc, overlay rootfs, default profile")
{
    check_enforced(Runtime::runc, RootfsKind::overlay, "default");
}

TEST_CASE("enforced: crun, plain rootfs, default profile")
{
    check_enforced(Runtime::crun, RootfsKind::plain, "default");
}

TEST_CASE("enforced: crun, overlay rootfs, default profile")
{
    check_enforced(Runtime::crun, RootfsKind::overlay, "default");
}

TEST_SUITE_END();
