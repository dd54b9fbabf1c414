// The bypass suite (issue 5): ways around cgfence tried FROM INSIDE a real
// confined runc container, as its root user, by bypass-probe
// (bypass/bypass-probe.c, copied into the rootfs as /bin/bypass-probe). Each
// test names its technique and asserts the denial: the probe exits 13 when
// the step that must be denied was (EACCES or EPERM), 0 when the access got
// through (a bypass), 2 when its setup failed. Enforcement needs the VM; on
// the host the tests skip.
//
// One container (started once, by the first test that needs it) serves every
// technique through `runc exec`: TCG is slow, and a container start costs
// several times an exec. The container is stronger than usual, so that the
// techniques that need privilege can be tried: CAP_SYS_ADMIN (mounts,
// namespaces), CAP_DAC_READ_SEARCH (open_by_handle_at) and a cgroup
// namespace. Its profile is the shipped `minimal` plus objects that show
// more than its default deny: a denied directory and a denied file inside the
// writable /tmp, and cgroup2 writable so that the container can move itself
// into a child cgroup at all.
#include <doctest/doctest.h>

#include <atomic>
#include <bpf/bpf.h>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <thread>
#include <unistd.h>

#include "checks.hpp"
#include "parked_process.hpp"
#include "placement.hpp"
#include "program_maps.hpp"
#include "skip.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kDenied = 13;      // bypass-probe: denied at the step that must be denied
constexpr int kUnavailable = 77; // bypass-probe: the technique is not available here
constexpr const char *kProbe = "/bin/bypass-probe";
constexpr const char *kVictimXattr = "trusted.cgfence-test";

// The shipped minimal profile, plus the suite's denied objects in /tmp and a
// writable cgroup2.
json bypass_profile()
{
    std::ifstream in(fs::path(CGFENCE_SOURCE_DIR) / "packaging/profiles/minimal.json");
    json profile = json::parse(in);
    for (json &rule : profile["rules"]) {
        if (rule.value("fs", "") == "cgroup2")
            rule["access"] = "rw";
    }
    for (const char *denied : {"/tmp/vault", "/tmp/vault-empty", "/tmp/private", "/data/vault"})
        profile["rules"].push_back({{"path", denied}, {"access", ""}});
    // The ext4 volume of the disconnected-dentry test (absent elsewhere: skipped).
    profile["rules"].push_back({{"path", "/data"}, {"access", "r"}});
    return profile;
}

// The dynamic loader and a dynamic binary that needs only libc, from the
// host, or "" when the host lacks one of them.
struct DynamicFiles {
    fs::path loader, libc, binary;
};
DynamicFiles host_dynamic_files()
{
    DynamicFiles files{"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
                       "/usr/bin/true"};
    for (const fs::path &file : {files.loader, files.libc, files.binary}) {
        if (!fs::exists(file))
            return {};
    }
    return files;
}

void copy_executable(const fs::path &from, const fs::path &to)
{
    fs::create_directories(to.parent_path());
    fs::copy_file(fs::canonical(from), to, fs::copy_options::overwrite_existing);
    ::chmod(to.c_str(), 0755);
}

// What the techniques reach for, written into the rootfs before start:
//   /secret             default deny (no rule)
//   /tmp/vault/inner    in a directory with a deny rule, inside the rw /tmp
//   /tmp/vault-empty    an empty directory with a deny rule
//   /tmp/private        a file with a deny rule, inside the rw /tmp
//   /tmp/plain, /tmp/open  empty allowed directories (rename and mount targets)
//   /tmp/busybox        readable, not executable (/tmp is rw, no x)
//   /tmp/denied.sh      a script: readable, not executable
//   /etc/victim         readable, not writable (/etc is r), with an xattr
//   the dynamic loader and libc (/lib64, /lib: rx), a dynamic binary in /bin
//   (rx) and in /tmp (not x)
void populate(const fs::path &root)
{
    copy_executable(built_program("bypass-probe"), root / "bin/bypass-probe");
    add_binary_in_tmp(root);
    for (const char *dir : {"tmp/vault", "tmp/vault-empty", "tmp/plain", "tmp/open"})
        fs::create_directories(root / dir);
    write_file(root / "tmp/vault/inner", "inner\n");
    write_file(root / "tmp/private", "private\n");
    write_file(root / "tmp/denied.sh", "#!/bin/sh\necho script ran\n", 0755);
    write_file(root / "etc/victim", "victim\n");
    (void)::setxattr((root / "etc/victim").c_str(), kVictimXattr, "v", 1, 0);
    if (const DynamicFiles dyn = host_dynamic_files(); !dyn.loader.empty()) {
        copy_executable(dyn.loader, root / "lib64/ld-linux-x86-64.so.2");
        copy_executable(dyn.libc, root / "lib/x86_64-linux-gnu/libc.so.6");
        copy_executable(dyn.binary, root / "bin/true-dyn");
        copy_executable(dyn.binary, root / "tmp/true-dyn");
    }
}

json added_capabilities(json caps)
{
    for (const char *cap : {"CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH"})
        caps.push_back(cap);
    return caps;
}

// A bundle of the suite: rootfs populated, the stronger container, the
// bypass profile and the fence's hook.
void prepare(Bundle &bundle, const Fence &fence)
{
    populate(bundle.overlay() ? bundle.overlay()->lower : bundle.rootfs());
    for (const char *set : {"bounding", "effective", "permitted"}) {
        json &caps = bundle.config["process"]["capabilities"][set];
        caps = added_capabilities(caps);
    }
    bundle.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    bundle.annotate(kProfileAnnotation, "bypass").hook(fence.hook(), {"prestart", "poststop"});
    bundle.write();
}

// A detached container of the suite, kept for every test of the run.
struct Scene {
    explicit Scene(const Fence &fence, RootfsKind kind, const std::string &what)
        : bundle(kind), container(Runtime::runc, bundle, what)
    {
        prepare(bundle, fence);
        const Finished started = container.run_detached();
        if (started.status != 0)
            throw std::runtime_error("runc run: " + summary(started));
    }
    Bundle bundle;
    OciContainer container;
};

// The fence and the scenes, made on first use and kept until the end of the
// run. A scene that failed to start is not tried again: its error is given
// to every test that needs it.
class Lab {
  public:
    static Lab &get()
    {
        static Lab lab;
        return lab;
    }
    Fence &fence() { return fence_; }
    Scene &plain() { return scene(plain_, plain_error_, RootfsKind::plain, "bypass"); }
    Scene &overlay() { return scene(overlay_, overlay_error_, RootfsKind::overlay, "bypass-ovl"); }

  private:
    // A load of its own: its containers live across the file's tests.
    Lab() : fence_("bypass", Pins::own_load) { fence_.write_profile("bypass", bypass_profile()); }

    Scene &scene(std::unique_ptr<Scene> &scene, std::string &error, RootfsKind kind,
                 const std::string &what)
    {
        if (!scene && error.empty()) {
            try {
                scene = std::make_unique<Scene>(fence_, kind, what);
            } catch (const std::exception &e) {
                error = e.what();
            }
        }
        if (!scene)
            throw std::runtime_error("the bypass container did not start: " + error);
        return *scene;
    }

    Fence fence_;
    std::unique_ptr<Scene> plain_; // after fence_: deleted (poststop) before the unload
    std::unique_ptr<Scene> overlay_;
    std::string plain_error_, overlay_error_;
};

Finished probe(const Scene &scene, const std::vector<std::string> &args)
{
    std::vector<std::string> command = {kProbe};
    command.insert(command.end(), args.begin(), args.end());
    return scene.container.exec(command);
}

// Each attempt must end in the denial; a technique the kernel lacks skips.
void check_denied(Scene &scene, const std::vector<std::vector<std::string>> &attempts)
{
    for (const std::vector<std::string> &args : attempts) {
        const Finished done = probe(scene, args);
        if (done.status == kUnavailable)
            CGFENCE_SKIP(args.front() + ": " + done.out.substr(0, done.out.find('\n')));
        CHECK_MESSAGE(done.status == kDenied,
                      std::string(args.front() + " " + args.at(1) + ": " + summary(done)));
    }
}

void check_denied_in_plain(const std::vector<std::vector<std::string>> &attempts)
{
    check_denied(Lab::get().plain(), attempts);
}

} // namespace

// Every test of this file is a kernel decision, but the hook race.
TEST_SUITE_BEGIN(CGFENCE_VM_ONLY);

TEST_CASE("bypass probe: its steps on allowed objects succeed (runc, minimal)")
{
    // Without this, a denial could be the probe's own setup going wrong.
    Scene &scene = Lab::get().plain();
    const std::vector<std::vector<std::string>> allowed = {
        {"open", "/etc/os-release"},
        {"hardlink", "/tmp/busybox", "/tmp/busybox-link"},
        {"symlink", "/etc/os-release", "/tmp/sl1", "/tmp/sl2"},
        {"proc-fd", "/etc/os-release"},
        {"proc-root", "/etc/os-release"},
        {"handle", "/etc/os-release"},
        {"bind", "/etc", "/tmp/open", "/tmp/open/os-release"},
        {"unshare-user", "/etc/os-release"},
        {"cgroup-child", "/tmp/cgroup", "/etc/os-release"},
        {"mmap-exec", "/bin/busybox"},
        {"uring-openat", "/etc/os-release"},
        {"uring-openat-async", "/etc/os-release"},
    };
    for (const std::vector<std::string> &args : allowed) {
        const Finished done = probe(scene, args);
        const bool uring = args.front().rfind("uring", 0) == 0; // may be off in the kernel
        CHECK_MESSAGE((done.status == 0 || (uring && done.status == kUnavailable)),
                      std::string(args.front() + ": " + summary(done)));
    }
    CHECK(summary(scene.container.exec({"cat", "/secret"})) ==
          "exit 1, stderr: cat: can't open '/secret': Permission denied\n");
}

TEST_CASE("bypass: hard link to a denied file (runc, minimal)")
{
    check_denied_in_plain({{"hardlink", "/tmp/private", "/tmp/alias-private"},
                           {"hardlink", "/secret", "/tmp/alias-secret"}});
}

TEST_CASE("bypass: symlink and symlink chain to a denied file (runc, minimal)")
{
    check_denied_in_plain({{"symlink", "/secret", "/tmp/s1", "/tmp/s2"},
                           {"symlink", "/tmp/vault/inner", "/tmp/s3", "/tmp/s4"}});
}

TEST_CASE("bypass: O_PATH descriptor reopened through /proc/self/fd (runc, minimal)")
{
    check_denied_in_plain({{"proc-fd", "/secret"}, {"proc-fd", "/tmp/private"}});
}

TEST_CASE("bypass: reopen through /proc/<pid>/root (runc, minimal)")
{
    check_denied_in_plain({{"proc-root", "/secret"}, {"proc-root", "/tmp/vault/inner"}});
}

TEST_CASE("bypass: open_by_handle_at of a denied file (runc, minimal)")
{
    check_denied_in_plain({{"handle", "/secret"}, {"handle", "/tmp/private"}});
}

// A handle decodes to a disconnected dentry only when no dentry of the file
// is cached; the rootfs here is on tmpfs, whose dentries are never evicted,
// so the kernel finds the connected one. What this shows is a handle to a
// file below a denied directory, reached without walking that directory.
TEST_CASE("bypass: open_by_handle_at of a file below a denied directory (runc, minimal)")
{
    check_denied_in_plain({{"handle", "/tmp/vault/inner"}});
}

TEST_CASE("bypass: O_PATH descriptor linked to a new name with linkat AT_EMPTY_PATH (runc, "
          "minimal)")
{
    check_denied_in_plain({{"opath-link", "/tmp/private", "/tmp/ol-private"},
                           {"opath-link", "/secret", "/tmp/ol-secret"}});
}

TEST_CASE("bypass: bind mount of a denied directory onto an allowed one (runc, minimal)")
{
    check_denied_in_plain({{"bind", "/tmp/vault", "/tmp/open", "/tmp/open/inner"}});
}

TEST_CASE("bypass: move mount of a denied directory onto an allowed one (runc, minimal)")
{
    check_denied_in_plain({{"move", "/tmp/vault", "/tmp/open", "/tmp/open/inner"}});
}

TEST_CASE("bypass: rename of a denied file into an allowed directory (runc, minimal)")
{
    check_denied_in_plain({{"rename", "/tmp/private", "/tmp/plain/private", "/tmp/plain/private"},
                           {"rename", "/tmp/vault/inner", "/tmp/inner", "/tmp/inner"},
                           {"rename", "/secret", "/tmp/secret", "/tmp/secret"},
                           {"rename", "/tmp/vault", "/tmp/moved", "/tmp/moved/inner"}});
}

TEST_CASE("bypass: rename of an allowed directory over a denied one (runc, minimal)")
{
    check_denied_in_plain({{"rename-over", "/tmp/plain", "/tmp/vault-empty"}});
}

TEST_CASE("bypass: unshare of the mount namespace, then open (runc, minimal)")
{
    check_denied_in_plain({{"unshare-mnt", "/secret"}});
}

TEST_CASE("bypass: unshare of the user namespace, then open or bind mount (runc, minimal)")
{
    check_denied_in_plain({{"unshare-user", "/secret"},
                           {"userns-bind", "/tmp/vault", "/tmp/open", "/tmp/open/inner"}});
}

TEST_CASE("bypass: moving into a new child cgroup, then open (runc, minimal)")
{
    check_denied_in_plain({{"cgroup-child", "/tmp/cgroup", "/secret"}});
}

TEST_CASE("bypass: exec of a non-x binary through the dynamic loader (runc, minimal)")
{
    if (host_dynamic_files().loader.empty())
        CGFENCE_SKIP("no dynamic loader, libc or /usr/bin/true on the host to put in the rootfs");
    Scene &scene = Lab::get().plain();
    const std::string loader = "/lib64/ld-linux-x86-64.so.2";
    // The loader runs an allowed binary: it works in this rootfs at all.
    CHECK(summary(scene.container.exec({loader, "/bin/true-dyn"})) == "exit 0");
    // It maps a non-x one PROT_EXEC itself: refused.
    const Finished denied = scene.container.exec({loader, "/tmp/true-dyn"});
    CHECK(denied.status == 127);
    CHECK(missing_words(denied.err, {"failed to map segment"}) == "");
}

TEST_CASE("bypass: memfd_create, copy of a non-x binary, fexecve (runc, minimal)")
{
    check_denied_in_plain({{"memfd-exec", "/tmp/busybox"}});
}

TEST_CASE("bypass: execveat of an O_PATH descriptor of a non-x binary (runc, minimal)")
{
    check_denied_in_plain({{"opath-exec", "/tmp/busybox"}});
}

// `sh denied.sh` reads the script, which the profile allows: by design it
// runs. Executing it is what needs x.
TEST_CASE("bypass: script interpreter: sh reads a non-x script, exec of it is denied (runc, "
          "minimal)")
{
    Scene &scene = Lab::get().plain();
    CHECK(summary(scene.container.exec({"sh", "/tmp/denied.sh"})) ==
          "exit 0, stdout: script ran\n");
    check_denied(scene, {{"exec", "/tmp/denied.sh"}});
}

TEST_CASE("bypass: mmap(PROT_EXEC) of a non-x file (runc, minimal)")
{
    check_denied_in_plain({{"mmap-exec", "/tmp/busybox"}});
}

TEST_CASE("bypass: mprotect(PROT_EXEC) of a mapping of a non-x file (runc, minimal)")
{
    check_denied_in_plain({{"mprotect-exec", "/tmp/busybox"}});
}

TEST_CASE("bypass: truncate of a file without w (runc, minimal)")
{
    check_denied_in_plain({{"truncate", "/etc/victim"}});
}

TEST_CASE("bypass: chmod of a file without w (runc, minimal)")
{
    check_denied_in_plain({{"chmod", "/etc/victim"}});
}

TEST_CASE("bypass: utimes of a file without w (runc, minimal)")
{
    check_denied_in_plain({{"utimes", "/etc/victim"}});
}

TEST_CASE("bypass: setxattr and removexattr on a file without w (runc, minimal)")
{
    check_denied_in_plain({{"setxattr", "/etc/victim"}, {"removexattr", "/etc/victim"}});
}

TEST_CASE("bypass: io_uring IORING_OP_OPENAT of a denied file (runc, minimal)")
{
    check_denied_in_plain({{"uring-openat", "/secret"}});
}

TEST_CASE("bypass: io_uring IORING_OP_OPENAT with IOSQE_ASYNC, in an io-wq worker (runc, "
          "minimal)")
{
    check_denied_in_plain({{"uring-openat-async", "/secret"}});
}

TEST_CASE("bypass: overlay copy-up of a read-only lower file opened for writing (runc, minimal)")
{
    Scene &scene = Lab::get().overlay();
    check_denied(scene,
                 {{"write", "/etc/victim"}, {"rdwr", "/etc/victim"}, {"chmod", "/etc/victim"}});
    const OverlayRootfs &layers = *scene.bundle.overlay();
    CHECK(read_text(layers.lower / "etc/victim") == "victim\n");
    CHECK(read_text(layers.merged / "etc/victim") == "victim\n");
}

// The container's first process is the probe itself: the denied file is its
// very first action, right after the runtime's exec of it.
TEST_CASE("bypass: the window between prestart and the first exec (runc, minimal)")
{
    Lab &lab = Lab::get();
    Bundle bundle;
    prepare(bundle, lab.fence());
    OciContainer container(Runtime::runc, bundle, "bypass-first");
    const Finished done = run_as_container(container, bundle, {kProbe, "first-exec", "/secret"});
    CHECK_MESSAGE(done.status == kDenied, summary(done));
}

namespace {

PolicyKey key_on_host(const fs::path &path)
{
    const ObjectKey key = key_of(path);
    return PolicyKey{CGFENCE_KEY_INODE, key.dev, key.ino};
}

// Replaces `link` by a symlink to `target`, atomically (rename over it).
void swap_symlink(const fs::path &link, const std::string &target)
{
    const fs::path next = link.string() + ".next";
    ::unlink(next.c_str());
    if (::symlink(target.c_str(), next.c_str()) == 0)
        (void)::rename(next.c_str(), link.c_str());
}

// Where the rule on /data/f landed in the policy: "a", "b", "outside",
// "absent", or "other" for a key that is none of them.
std::string rule_target(const ContainerPolicy &policy, const fs::path &dir)
{
    const std::pair<const char *, fs::path> places[] = {{"a", dir / "rootfs/a/f"},
                                                        {"b", dir / "rootfs/b/f"},
                                                        {"outside", dir / "outside/f"},
                                                        {"outside", dir / "outside2/f"}};
    const size_t expected_others = 1; // the rootfs directory, a mount boundary
    for (const auto &[name, path] : places) {
        if (policy.rules.count(key_on_host(path)))
            return name;
    }
    return policy.rules.size() == expected_others ? "absent" : "other";
}

} // namespace

// The hook resolves each rule inside the container's root (openat2
// RESOLVE_IN_ROOT). Here a thread swaps the rule's path component /data
// between symlinks to two legitimate directories in the rootfs and to a
// directory outside it (absolute host path, and "../outside"), over and over,
// while the hook sets the container up again and again. The rule must land on
// a legitimate target or be skipped (dangling in the container's view), never
// on the host's file.
// The hook's resolution against a swapping path: userspace alone.
TEST_CASE("bypass: a path component swapped while the hook resolves rules (hook race)" *
          CGFENCE_HOST_ONLY)
{
    Fence fence("race");
    fence.write_profile("race", {{"mode", "enforce"},
                                 {"default", "allow"},
                                 {"rules", {{{"path", "/data/f"}, {"access", "r"}}}}});
    TempDir dir;
    for (const char *sub : {"rootfs/a", "rootfs/b", "outside", "outside2"}) {
        fs::create_directories(dir / sub);
        write_file(dir / sub / "f", std::string(sub) + "\n");
    }
    fs::create_symlink("a", dir / "rootfs/data");
    const fs::path bundle = dir / "bundle";
    fs::create_directories(bundle);
    write_file(bundle / "config.json", json{{"ociVersion", "1.0.2"},
                                            {"root", {{"path", (dir / "rootfs").string()}}},
                                            {"annotations", {{kProfileAnnotation, "race"}}}}
                                           .dump());
    TestCgroup cgroup("bypass-race");
    ParkedProcess parked(cgroup);
    const std::string setup = json{
        {"ociVersion", "1.0.2-dev"},
        {"id", "race"},
        {"status", "creating"},
        {"pid", parked.pid()},
        {"bundle",
         bundle.string()}}.dump();
    const std::string teardown = json{
        {"ociVersion", "1.0.2-dev"},
        {"id", "race"},
        {"status", "stopped"},
        {"bundle", bundle.string()}}.dump();
    HookCommand hook = fence.hook();
    std::vector<std::string> argv = hook.args;
    argv.front() = hook.path;
    const PinnedMaps maps = fence.maps();

    std::atomic<bool> stop = false;
    std::thread swapper([&] {
        const std::string targets[] = {"a", "/b", (dir / "outside").string(), "../outside2"};
        for (size_t i = 0; !stop; i++)
            swap_symlink(dir / "rootfs/data", targets[i % std::size(targets)]);
    });
    std::map<std::string, int> seen;
    std::string failures;
    const int rounds = 300;
    for (int i = 0; i < rounds; i++) {
        const Finished set_up = run_captured(argv, setup);
        if (set_up.status != 0) {
            failures += "setup: " + outcome(set_up) + "\n";
            seen["setup refused"]++;
            continue;
        }
        auto policy = read_policy(maps, cgroup.id());
        seen[policy.ok() ? rule_target(*policy, dir.path()) : "no policy"]++;
        const Finished torn_down = run_captured(argv, teardown);
        if (torn_down.status != 0)
            failures += "teardown: " + outcome(torn_down) + "\n";
    }
    stop = true;
    swapper.join();
    std::string counts;
    for (const auto &[target, count] : seen)
        counts += target + "=" + std::to_string(count) + " ";
    INFO("where the rule landed: " << counts << failures);
    CHECK(seen.count("outside") == 0);
    CHECK(seen.count("other") == 0);
    CHECK(seen.count("no policy") == 0);
    CHECK(seen["a"] + seen["b"] + seen["absent"] == rounds);
    // openat2 fails a lookup that a rename races with EAGAIN; the hook retries
    // (it once refused about 1 set-up in 300 here).
    CHECK_MESSAGE(seen["setup refused"] == 0, failures);
    check_no_entries(maps);
}

namespace {

// An ext4 filesystem in an image file, loop-mounted: a filesystem whose
// dentries the kernel may evict (tmpfs keeps them all).
class Ext4Volume {
  public:
    Ext4Volume() : mount_point(dir_ / "mnt")
    {
        fs::create_directories(mount_point);
        const std::string image = (dir_ / "fs.img").string();
        (void)run_captured({"modprobe", "-q", "loop"});
        (void)run_captured({"modprobe", "-q", "ext4"});
        for (const std::vector<std::string> &step :
             {std::vector<std::string>{"truncate", "-s", "16M", image},
              {"mkfs.ext4", "-q", "-F", image},
              {"mount", "-o", "loop", image, mount_point.string()}}) {
            const Finished done = run_captured(step);
            if (done.status != 0)
                throw std::runtime_error(step.front() + ": " + summary(done));
        }
        mounted_ = true;
    }
    Ext4Volume(const Ext4Volume &) = delete;
    Ext4Volume &operator=(const Ext4Volume &) = delete;
    ~Ext4Volume()
    {
        if (mounted_)
            ::umount2(mount_point.c_str(), MNT_DETACH);
    }

  private:
    TempDir dir_;
    bool mounted_ = false;

  public:
    fs::path mount_point;
};

// Unused dentries and inodes freed, everywhere.
void evict_dentries()
{
    ::sync();
    const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, "2", 1) == 1);
    ::close(fd);
}

} // namespace

// The handles are taken in one process and opened in another after the
// dentries were evicted (drop_caches, from outside the container), so the
// kernel builds a disconnected dentry for the file: its walk cannot reach a
// rule. It must get the policy's deep_access (the default intersected with
// every rule: nothing here), never the default. The allowed file shows that
// the dentry was really disconnected: through its path it may be read.
TEST_CASE("bypass: open_by_handle_at of an evicted file: a disconnected dentry (runc, minimal)")
{
    Ext4Volume volume;
    fs::create_directories(volume.mount_point / "vault");
    fs::create_directories(volume.mount_point / "open");
    write_file(volume.mount_point / "vault/inner", "inner\n");
    write_file(volume.mount_point / "open/f", "open\n");
    Lab &lab = Lab::get();
    Bundle bundle;
    bundle.bind_mount(volume.mount_point, "/data");
    prepare(bundle, lab.fence());
    OciContainer container(Runtime::runc, bundle, "bypass-handle");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    const auto run = [&](const std::vector<std::string> &args) {
        std::vector<std::string> command = {kProbe};
        command.insert(command.end(), args.begin(), args.end());
        return container.exec(command);
    };
    CHECK(summary(container.exec({"cat", "/data/open/f"})) == "exit 0, stdout: open\n");
    REQUIRE(summary(run({"handle-save", "/data/vault/inner", "/tmp/h-denied"})) ==
            "exit 0, stdout: saved\n");
    REQUIRE(summary(run({"handle-save", "/data/open/f", "/tmp/h-open"})) ==
            "exit 0, stdout: saved\n");
    evict_dentries();
    const Finished open = run({"handle-open", "/tmp/h-open", "/data"});
    CHECK_MESSAGE(open.status == kDenied,
                  (std::string("an allowed file through a disconnected dentry: ") + summary(open) +
                   (open.status == 0 ? " (was the dentry evicted at all?)" : "")));
    const Finished denied = run({"handle-open", "/tmp/h-denied", "/data"});
    CHECK_MESSAGE(denied.status == kDenied,
                  (std::string("a denied file through a disconnected dentry: ") + summary(denied)));
    CHECK(summary(container.stop_and_delete()) == "exit 0");
}

// Leaving the container, or acting through a task that is not the
// container's. A task is its container's from its first exec in the
// container's cgroup on, wherever it then goes, and so is every task it
// creates; the runtime's exec helper before its exec, the host's tasks and
// tasks in other cgroups are not. Each technique runs in two containers of
// the same configuration: one without cgfence, where it must work (exit 0:
// the kernel lets it through, so a denial under cgfence is cgfence's), and
// one confined by a default-allow profile that denies /secret alone, where
// it must be denied. The containers are as strong as the suite's (root,
// CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH) plus what some techniques need to work
// at all without cgfence: CAP_SYS_PTRACE (runc's exec helper is not
// dumpable, and Yama, relational, lets only CAP_SYS_PTRACE attach to a task
// that is not a descendant) and CAP_SYS_CHROOT (setns into a mount
// namespace). Two configurations,
// each started once, in both containers:
//   - "host": no cgroup namespace (as `runc spec` writes it), so cgroup2
//     mounted inside shows the hierarchy's root; and the host's pid
//     namespace, so that host processes are in sight;
//   - "ns": a cgroup namespace and a pid namespace of its own.
// Both have an ext4 volume at /data, whose file /data/ro the confined
// container may read and not change, and whose /data/drop it may write and
// not read; /data/drop/box it may do anything with, but not with what it holds.
namespace {

json escape_profile()
{
    return {{"mode", "enforce"},
            {"default", "allow"},
            {"rules",
             {{{"path", "/secret"}, {"access", ""}},
              {{"path", "/data/ro"}, {"access", "r"}},
              {{"path", "/data/drop"}, {"access", "w"}},
              {{"path", "/data/drop/box"}, {"access", "rwx"}, {"recursive", false}},
              {{"path", "/etc/os-release"}, {"access", "r"}}}}};
}

enum class Layout { host, ns };

struct EscapeScene {
    EscapeScene(const Fence &fence, Layout layout, bool confined)
        : container(Runtime::runc, bundle,
                    std::string("escape-") + (layout == Layout::host ? "host" : "ns") +
                        (confined ? "" : "-free"))
    {
        copy_executable(built_program("bypass-probe"), bundle.rootfs() / "bin/bypass-probe");
        write_file(volume.mount_point / "ro", "read only\n");
        fs::create_directories(volume.mount_point / "drop/box");
        write_file(volume.mount_point / "drop/box/file", "write only\n");
        bundle.bind_mount(volume.mount_point, "/data");
        for (const char *set : {"bounding", "effective", "permitted"}) {
            json &caps = bundle.config["process"]["capabilities"][set];
            caps = added_capabilities(caps);
            caps.push_back("CAP_SYS_PTRACE");
            caps.push_back("CAP_SYS_CHROOT");   // setns into a mount namespace
            caps.push_back("CAP_DAC_OVERRIDE"); // overlayfs's work directory (mode 0)
            caps.push_back("CAP_NET_ADMIN");    // cgroup BPF programs: query, detach
        }
        // Locked memory without bound, as containers that use BPF are given it:
        // 5.10 charges BPF maps and programs to RLIMIT_MEMLOCK (EPERM past it).
        bundle.config["process"]["rlimits"] =
            json::array({{{"type", "RLIMIT_MEMLOCK"}, {"soft", UINT64_MAX}, {"hard", UINT64_MAX}}});
        json &namespaces = bundle.config["linux"]["namespaces"];
        if (layout == Layout::ns) {
            namespaces.push_back({{"type", "cgroup"}});
        } else {
            json kept = json::array();
            for (const json &ns : namespaces) {
                if (ns.at("type") != "pid")
                    kept.push_back(ns);
            }
            namespaces = kept;
        }
        if (confined)
            bundle.annotate(kProfileAnnotation, "escape")
                .hook(fence.hook(), {"prestart", "poststop"});
        bundle.write();
        const Finished started = container.run_detached();
        if (started.status != 0)
            throw std::runtime_error("runc run: " + summary(started));
    }
    // /data: ext4, whose files take every attribute ioctl on every kernel
    // (tmpfs takes FS_IOC_SETFLAGS from 6.0 on, FS_IOC_FSSETXATTR never).
    Ext4Volume volume;
    Bundle bundle;
    OciContainer container;
};

// The four escape containers, each started on first use and kept for the run.
class EscapeLab {
  public:
    static EscapeLab &get()
    {
        static EscapeLab lab;
        return lab;
    }
    EscapeScene &scene(Layout layout, bool confined)
    {
        const size_t i = (layout == Layout::host ? 0 : 2) + (confined ? 1 : 0);
        if (!scenes_[i] && errors_[i].empty()) {
            try {
                scenes_[i] = std::make_unique<EscapeScene>(Lab::get().fence(), layout, confined);
            } catch (const std::exception &e) {
                errors_[i] = e.what();
            }
        }
        if (!scenes_[i])
            throw std::runtime_error("the escape container did not start: " + errors_[i]);
        return *scenes_[i];
    }

  private:
    EscapeLab() { Lab::get().fence().write_profile("escape", escape_profile()); }
    std::unique_ptr<EscapeScene> scenes_[4];
    std::string errors_[4];
};

// "" when the probe ended with `status`, else what it said, marked with `who`:
// a failed check shows the probe's output.
std::string unexpected(const char *who, const Finished &done, int status)
{
    return done.status == status ? "" : std::string(who) + ": " + summary(done);
}

// The same for the container of `confined`: denied with cgfence, working
// without. With CGFENCE_BYPASS_VERBOSE set, what the probe said is shown.
std::string unexpected(bool confined, const Finished &done)
{
    if (std::getenv("CGFENCE_BYPASS_VERBOSE"))
        MESSAGE((std::string(confined ? "confined: " : "without cgfence: ") + summary(done)));
    return confined ? unexpected("confined (must be denied)", done, kDenied)
                    : unexpected("without cgfence (must work)", done, 0);
}

Finished probe_in(const EscapeScene &scene, const std::vector<std::string> &args)
{
    std::vector<std::string> command = {kProbe};
    command.insert(command.end(), args.begin(), args.end());
    return scene.container.exec(command);
}

// The ids of cgfence's maps, as strings for the probe: the shared ones, and
// the policy map of the container whose cgroup is `cgroup` (0: none).
std::vector<std::string> cgfence_map_ids(const Fence &fence, uint64_t cgroup)
{
    const PinnedMaps maps = fence.maps();
    std::vector<std::string> ids;
    for (const UniqueFd *fd : {&maps.policies, &maps.counters, &maps.containers, &maps.events,
                               &maps.records, &maps.meta, &maps.learned, &maps.marks}) {
        auto shape = map_shape(fd->get());
        REQUIRE(shape.ok());
        ids.push_back(std::to_string(shape->id));
    }
    uint32_t inner = 0;
    if (cgroup != 0 && bpf_map_lookup_elem(maps.policies.get(), &cgroup, &inner) == 0)
        ids.push_back(std::to_string(inner));
    return ids;
}

// The ids of the global data maps (.rodata and any other "cgfence_.") of
// the programs of `fence`'s load, as strings for the probe.
std::vector<std::string> global_data_map_ids(const Fence &fence)
{
    std::set<std::string> ids;
    for (const uint32_t id : maps_of_pinned_programs(fs::path(fence.pin_dir()) / "progs")) {
        UniqueFd map(bpf_map_get_fd_by_id(id));
        bpf_map_info info{};
        uint32_t size = sizeof(info);
        REQUIRE(bpf_obj_get_info_by_fd(map.get(), &info, &size) == 0);
        if (std::string(info.name).starts_with("cgfence_."))
            ids.insert(std::to_string(id));
    }
    REQUIRE_FALSE(ids.empty());
    return {ids.begin(), ids.end()};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string> &more)
{
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// The technique `args` works without cgfence (exit 0) and is denied with it
// (13); with `with_map_ids`, cgfence's map ids are appended (the confined
// container's own policy map's too).
void check_escape(Layout layout, const std::vector<std::string> &args, bool with_map_ids = false)
{
    EscapeLab &lab = EscapeLab::get();
    const Fence &fence = Lab::get().fence();
    for (const bool confined : {false, true}) {
        const EscapeScene &scene = lab.scene(layout, confined);
        const uint64_t cgroup = confined ? cgroup_id_of(scene.container.pid()) : 0;
        const std::vector<std::string> attempt =
            with_map_ids ? with(args, cgfence_map_ids(fence, cgroup)) : args;
        const Finished done = probe_in(scene, attempt);
        if (done.status == kUnavailable)
            CGFENCE_SKIP(args.front() + ": " + done.out.substr(0, done.out.find('\n')));
        CHECK(unexpected(confined, done) == "");
    }
}

// The host path of cgroup2's root, and the root cgroup's id.
uint64_t root_cgroup_id()
{
    struct stat st {};
    REQUIRE(::stat(cgroup2_mount().c_str(), &st) == 0);
    return st.st_ino;
}

// The host pids of the processes in `container`'s cgroup whose command line
// has `word` as its second argument (the probe's technique).
std::vector<pid_t> probes_running(const RunningContainer &container, const std::string &word)
{
    const std::string line = read_text("/proc/" + std::to_string(container.pid()) + "/cgroup");
    const std::string path = line.substr(3, line.find('\n') - 3); // "0::/path"
    std::istringstream procs(read_text(cgroup2_mount() + path + "/cgroup.procs"));
    std::vector<pid_t> found;
    for (pid_t pid; procs >> pid;) {
        const std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
        if (cmdline.find(std::string(1, '\0') + word + '\0') != std::string::npos)
            found.push_back(pid);
    }
    return found;
}

// A host process holding `file` open as fd kVictimFd, until the end.
constexpr int kVictimFd = 200;
class HostVictim {
  public:
    explicit HostVictim(const fs::path &file)
    {
        pid_ = ::fork();
        if (pid_ == 0) {
            const int fd = ::open(file.c_str(), O_RDONLY);
            if (fd < 0 || ::dup2(fd, kVictimFd) < 0)
                ::_exit(1);
            for (;;)
                ::pause();
        }
        REQUIRE(pid_ > 0);
        REQUIRE(wait_until([&] {
            return fs::exists("/proc/" + std::to_string(pid_) + "/fd/" + std::to_string(kVictimFd));
        }));
    }
    HostVictim(const HostVictim &) = delete;
    HostVictim &operator=(const HostVictim &) = delete;
    ~HostVictim()
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

} // namespace

TEST_CASE("bypass, escape: its own pid written to the root cgroup's cgroup.procs (runc, no cgroup "
          "namespace)")
{
    check_escape(Layout::host, {"cgroup-root", "/tmp/cgroup"});
}

// The move cgfence refuses, done by someone else (the host moves the
// container's process to the root cgroup): the process stays its container's.
TEST_CASE(
    "bypass, escape: moved to the root cgroup from the host, then /secret and cgfence's maps by id "
    "(runc, no cgroup namespace)")
{
    EscapeLab &lab = EscapeLab::get();
    for (const bool confined : {false, true}) {
        const EscapeScene &scene = lab.scene(Layout::host, confined);
        const uint64_t cgroup = confined ? cgroup_id_of(scene.container.pid()) : 0;
        Spawned waiting =
            scene.container.spawn_exec(with({kProbe, "moved", "0::/", "60", "/secret"},
                                            cgfence_map_ids(Lab::get().fence(), cgroup)));
        std::vector<pid_t> found;
        REQUIRE(wait_until(
            [&] { return (found = probes_running(scene.container, "moved")).size() == 1; }));
        write_file(cgroup2_mount() + "/cgroup.procs", std::to_string(found.front()));
        const Finished done = waiting.wait();
        CHECK(unexpected(confined, done) == "");
        CHECK(done.out.find("in cgroup 0::/\n") != std::string::npos);
    }
}

TEST_CASE(
    "bypass, escape: clone3(CLONE_INTO_CGROUP) into the root cgroup, then /secret and cgfence's "
    "maps by id (runc, no cgroup namespace)")
{
    check_escape(Layout::host, {"clone3-root", "/tmp/cgroup", "/secret"}, true);
}

// In a cgroup namespace, cgroup2 mounted inside shows the container's cgroup
// as its root; a kernfs file handle (the cgroup id) opens any cgroup of the
// hierarchy with CAP_DAC_READ_SEARCH.
TEST_CASE("bypass, escape: the root cgroup opened by file handle, clone3 into it, then /secret and "
          "cgfence's maps by id (runc, cgroup namespace)")
{
    check_escape(Layout::ns,
                 {"handle-clone3", "/tmp/cgroup", std::to_string(root_cgroup_id()), "/secret"},
                 true);
}

// runc's exec helper ("runc:[2:INIT]") shows in the container's pid
// namespace while still in runc's cgroup, then joins the container's cgroup
// and stays there until its exec: no mark all along. A process of the
// container watches for it, stops it in each phase, tries every way into it
// (ptrace in the second), and lets it go on: the exec must still succeed.
TEST_CASE(
    "bypass, escape: the runtime's exec helper in its window: stopped and reached into (runc exec)")
{
    EscapeLab &lab = EscapeLab::get();
    for (const bool confined : {false, true}) {
        const EscapeScene &scene = lab.scene(Layout::ns, confined);
        const fs::path ready = scene.bundle.rootfs() / "tmp/window-ready";
        fs::remove(ready);
        Spawned watcher =
            scene.container.spawn_exec({kProbe, "exec-window", "60", "/tmp/window-ready"});
        REQUIRE(wait_until([&] { return fs::exists(ready); }, 60s));
        const Finished exec = scene.container.exec({"echo", "exec done"});
        const Finished watched = watcher.wait();
        CHECK(summary(exec) == "exit 0, stdout: exec done\n");
        CHECK(unexpected(confined, watched) == "");
    }
}

// With the host's pid namespace, host processes are in sight: one holds the
// denied file open (its host path), and the container tries to take that fd
// (pidfd_getfd), trace it, and reach its memory, root, cwd and namespaces.
TEST_CASE("bypass, escape: a host process reached into: pidfd_getfd of its fd of /secret, ptrace, "
          "/proc/PID (runc, host pid namespace)")
{
    EscapeLab &lab = EscapeLab::get();
    for (const bool confined : {false, true}) {
        const EscapeScene &scene = lab.scene(Layout::host, confined);
        const HostVictim victim(scene.bundle.rootfs() / "secret");
        const Finished done =
            probe_in(scene, {"host-task", std::to_string(victim.pid()), std::to_string(kVictimFd)});
        CHECK(unexpected(confined, done) == "");
        if (!confined) // the fd taken was the victim's, and read
            CHECK(done.out.find(kSecret) != std::string::npos);
    }
}

// setns by a pidfd of a host task (the host's pid namespace) asks
// ptrace_may_access of that task, and then CAP_SYS_ADMIN and CAP_SYS_CHROOT:
// without cgfence the container joins the host's mount namespace and reads
// the file by its host path.
TEST_CASE(
    "bypass, escape: setns into a host task's mount namespace by pidfd, then /secret by its host "
    "path (runc, host pid namespace)")
{
    EscapeLab &lab = EscapeLab::get();
    for (const bool confined : {false, true}) {
        const EscapeScene &scene = lab.scene(Layout::host, confined);
        const Finished done =
            probe_in(scene, {"setns-pidfd", "1", (scene.bundle.rootfs() / "secret").string()});
        CHECK(unexpected(confined, done) == "");
    }
}

TEST_CASE(
    "bypass, escape: new tasks carry the mark: vfork, CLONE_PARENT, a thread, io_uring SQPOLL "
    "thread, registered personality (runc)")
{
    for (const char *technique :
         {"vfork-open", "clone-parent-open", "thread-open", "sqpoll-openat", "uring-personality"}) {
        CAPTURE(technique);
        check_escape(Layout::ns, {technique, "/secret"});
    }
}

// The kernel's helpers: files naming a program the kernel runs as the host's
// root, outside every cgroup. Written from a fresh mount of their
// filesystem, whatever the profile (the escape profile allows everything but
// /secret); the probe writes back what they held. Without a cgroup namespace:
// in one, no new cgroup v1 hierarchy may be mounted. (/sys/kernel/uevent_helper
// and kernel.hotplug, refused too, exist only with CONFIG_UEVENT_HELPER, which
// Debian's kernels leave out.)
TEST_CASE(
    "bypass, kernel helpers: core_pattern, modprobe, poweroff_cmd, a cgroup v1 "
    "release_agent, binfmt_misc, a module parameter, tracefs's kprobe_events, debugfs written "
    "from a fresh mount (runc, no cgroup namespace)")
{
    for (const char *helper : {"core_pattern", "modprobe", "poweroff_cmd", "release_agent",
                               "binfmt_misc", "firmware_path", "kprobe_events", "debugfs"}) {
        CAPTURE(helper);
        check_escape(Layout::host, {"helper-write", helper});
    }
}

// overlayfs opens the lower file itself, in the opener's task. From 6.6 on
// that backing open has the real path, whose rule denies; before, it has the
// overlay's path and the real inode. An overlay the container mounted has no
// rule, so its files get deep_access, never the default.
TEST_CASE("bypass, overlay: a denied file read through an overlay the container mounted (runc)")
{
    check_escape(Layout::ns, {"overlay-open", "/", "secret"});
}

// A readable, non-executable file mapped PROT_EXEC through such an overlay:
// overlayfs maps the lower file without asking, on every kernel.
TEST_CASE("bypass, overlay: mmap(PROT_EXEC) of a non-x file through an overlay the container "
          "mounted (runc)")
{
    CHECK(summary(probe_in(EscapeLab::get().scene(Layout::ns, true),
                           {"mmap-exec", "/etc/os-release"})) ==
          "exit 13, stdout: denied: mmap PROT_EXEC: Permission denied\n");
    check_escape(Layout::ns, {"overlay-mmap-exec", "/", "etc/os-release"});
}

// overlayfs works on the rootfs's layers under its mounter's credentials,
// and the layers' rules let that work through. Credentials a task overrides
// its own with (an io_uring personality registered before it changed its
// own) are not overlayfs's: a layer directory reached by handle (the layer's
// filesystem is the container's volume too), and a file in it opened under
// the personality, gets the layer's rule.
TEST_CASE("bypass, overlay: a rootfs layer reached by handle, a file in it opened under an "
          "io_uring personality (runc, layers on a volume's filesystem)")
{
    const Fence &fence = Lab::get().fence();
    fence.write_profile("layer", {{"mode", "enforce"},
                                  {"default", "allow"},
                                  {"rules", {{{"path", "/secret"}, {"access", ""}}}}});
    for (const bool confined : {false, true}) {
        CAPTURE(confined);
        Ext4Volume volume;
        const fs::path lower = volume.mount_point / "layer";
        make_busybox_tree(lower);
        copy_executable(built_program("bypass-probe"), lower / "bin/bypass-probe");
        write_file(lower / "secret", "secret\n");
        REQUIRE(summary(run_captured({built_program("bypass-probe"), "handle-save", lower.string(),
                                      (volume.mount_point / "layer-handle").string()})) ==
                "exit 0, stdout: saved\n");
        Bundle bundle(lower);
        bundle.bind_mount(volume.mount_point, "/data");
        for (const char *set : {"bounding", "effective", "permitted"}) {
            json &caps = bundle.config["process"]["capabilities"][set];
            caps = added_capabilities(caps);
        }
        if (confined)
            bundle.annotate(kProfileAnnotation, "layer")
                .hook(fence.hook(), {"prestart", "poststop"});
        bundle.write();
        OciContainer container(Runtime::runc, bundle, confined ? "layer" : "layer-free");
        REQUIRE(container.run_detached().status == 0);
        if (confined)
            CHECK(container.exec({"cat", "/secret"}).status == 1);
        const Finished done =
            container.exec({kProbe, "layer-personality", "/data/layer-handle", "/data", "secret"});
        if (done.status == kUnavailable)
            CGFENCE_SKIP("io_uring: " + done.out);
        CHECK(unexpected(confined, done) == "");
        // overlayfs's own work on the layers still goes through.
        CHECK(summary(container.exec({"sh", "-c", "echo new > /etc/made && cat /etc/made"})) ==
              "exit 0, stdout: new\n");
    }
}

// CAP_SYS_ADMIN passes for CAP_BPF and CAP_PERFMON: a program of the
// container's own, attached to a tracepoint that runs in every task's
// context, reads kernel memory (and with it the page cache of every file).
TEST_CASE("bypass, BPF: a tracing program of the container's own reads kernel memory (runc)")
{
    check_escape(Layout::ns, {"bpf-read-kernel"});
}

// Without loading anything: the runtime's device filter on the container's
// own cgroup, queried, opened by id and detached (CAP_NET_ADMIN, CAP_SYS_ADMIN).
TEST_CASE("bypass, BPF: the runtime's device filter detached from the container's cgroup (runc, "
          "cgroup namespace)")
{
    check_escape(Layout::ns, {"bpf-detach-devices"});
}

// cgfence's global data (its settings for orphans and for a container
// without settings lived in writable .data and .bss once): no fd by id.
TEST_CASE("bypass, self-protection: cgfence's global data maps opened by id (runc)")
{
    check_escape(Layout::ns, with({"map-ids"}, global_data_map_ids(Lab::get().fence())));
}

// Changing a file without w (the attribute ioctls act on any descriptor of
// a file, and access mode 3 opens one with neither mode bit), and
// file_setattr(2), which needs no descriptor at all.
TEST_CASE("bypass, attributes: FS_IOC_SETFLAGS and FS_IOC_FSSETXATTR on a file without w, through "
          "an access mode 3 descriptor and a read-only one (runc, ext4)")
{
    for (const char *technique : {"accmode3-setflags", "rdonly-setflags", "rdonly-fssetxattr"}) {
        CAPTURE(technique);
        check_escape(Layout::ns, {technique, "/data/ro"});
    }
}

// Where the kernel has no file_setattr(2) (before 6.17) the route does not
// exist: both containers must be told so.
TEST_CASE("bypass, attributes: file_setattr(2) of a file without w, by path (runc, ext4)")
{
    EscapeLab &lab = EscapeLab::get();
    const Finished free = probe_in(lab.scene(Layout::ns, false), {"file-setattr", "/data/ro"});
    const Finished confined = probe_in(lab.scene(Layout::ns, true), {"file-setattr", "/data/ro"});
    if (free.status == kUnavailable) {
        CHECK(summary(confined) == summary(free));
        return;
    }
    CHECK(unexpected(false, free) == "");
    CHECK(unexpected(true, confined) == "");
}

// A rule on an object moves with it while the policy lives; a non-recursive
// one leaves the object's children to what lies above, which the move changes.
TEST_CASE("bypass, rules that move: a directory with a non-recursive rule renamed to a freer "
          "place, its child read (runc, ext4)")
{
    check_escape(Layout::ns, {"rename", "/data/drop/box", "/data/box", "/data/box/file"});
}

// A mount over a rule's object hides it while `apply` resolves the rule's path:
// the rule must stay on the object it named, which the unmount uncovers.
TEST_CASE("bypass, rules that move: a decoy bound over a denied file, `apply`, the decoy "
          "unmounted (runc)")
{
    EscapeLab &lab = EscapeLab::get();
    const Fence &fence = Lab::get().fence();
    for (const bool confined : {false, true}) {
        CAPTURE(confined);
        const EscapeScene &scene = lab.scene(Layout::ns, confined);
        REQUIRE(summary(probe_in(scene, {"bind-over", "/secret"})) ==
                "exit 0, stdout: decoy bound over /secret\n");
        const std::vector<std::string> apply = {"apply", scene.container.id(), "escape",
                                                "--profile-dir", fence.profile_dir()};
        if (confined) {
            const Finished applied = fence.cgfencectl(apply);
            CHECK(applied.status == 0);
            CHECK(applied.err.find("rule path /secret: the object it named before is no longer "
                                   "there") != std::string::npos);
        }
        CHECK(unexpected(confined, probe_in(scene, {"umount-open", "/secret"})) == "");
        if (confined) // the scene's policy as it was, for the tests after this one
            CHECK(fence.cgfencectl(apply).status == 0);
    }
}

// A directory on the way to a denied one renamed, an empty decoy made at the
// denied one's path, and the container restarted on the same root: the hook
// resolves the rule onto the decoy, and what the rule named is free.
TEST_CASE("bypass, rules that move: a directory holding a denied one renamed, a decoy in its "
          "place, the container restarted (runc)")
{
    const Fence &fence = Lab::get().fence();
    fence.write_profile("holder", {{"mode", "enforce"},
                                   {"default", "allow"},
                                   {"rules", {{{"path", "/srv/box/vault"}, {"access", ""}}}}});
    for (const bool confined : {false, true}) {
        CAPTURE(confined);
        Bundle bundle;
        copy_executable(built_program("bypass-probe"), bundle.rootfs() / "bin/bypass-probe");
        fs::create_directories(bundle.rootfs() / "srv/box/vault");
        write_file(bundle.rootfs() / "srv/box/vault/file", "held\n");
        if (confined)
            bundle.annotate(kProfileAnnotation, "holder")
                .hook(fence.hook(), {"prestart", "poststop"});
        bundle.write();
        const std::string name = confined ? "holder" : "holder-free";
        {
            OciContainer first(Runtime::runc, bundle, name);
            REQUIRE(first.run_detached().status == 0);
            const Finished moved =
                first.exec({kProbe, "move-away", "/srv/box", "/srv/moved", "/srv/box/vault"});
            CHECK(unexpected(confined, moved) == "");
            if (confined)
                continue;
            REQUIRE(first.stop_and_delete().status == 0);
        }
        OciContainer again(Runtime::runc, bundle, name);
        REQUIRE(again.run_detached().status == 0);
        CHECK(unexpected(false, again.exec({kProbe, "open", "/srv/moved/vault/file"})) == "");
    }
}

TEST_SUITE_END();
