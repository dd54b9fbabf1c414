#include "containers.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fence.hpp"
#include "mountinfo.hpp"

namespace cgfence::test {
namespace fs = std::filesystem;

namespace {

std::string first_line(const std::string &text)
{
    return text.substr(0, text.find('\n'));
}

// crun 1.8.1 refuses a hybrid host while a controller is enabled on cgroup2
// ("cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2"): on Debian 12's hybrid layout that is hugetlb alone (FACTS.md
// §5). Mounting a v1 hugetlb hierarchy moves the controller to v1 until the
// next boot. Done only when hugetlb is cgroup2's one controller (a pure
// cgroup2 host, like the VM, needs nothing), so it is idempotent: once done,
// cgroup2 lists no controller. podman runs its containers with crun here.
void move_hugetlb_to_cgroup_v1()
{
    const std::string cgroup2 = cgroup2_mount();
    if (cgroup2 == "/sys/fs/cgroup")
        return; // pure cgroup2
    if (first_line(read_text(cgroup2 + "/cgroup.controllers")) != "hugetlb")
        return;
    fs::create_directories("/sys/fs/cgroup/hugetlb");
    if (::mount("cgroup", "/sys/fs/cgroup/hugetlb", "cgroup", 0, "hugetlb") != 0 && errno != EBUSY)
        throw std::runtime_error("mount the v1 hugetlb hierarchy for crun: " +
                                 std::string(std::strerror(errno)));
}

// Detaches every mount below `dir`, deepest first.
void unmount_below(const fs::path &dir)
{
    auto mounts = read_mountinfo();
    if (!mounts)
        return;
    std::vector<std::string> below;
    const std::string prefix = dir.string() + "/";
    for (const MountEntry &m : *mounts) {
        if (m.mount_point.compare(0, prefix.size(), prefix) == 0)
            below.push_back(m.mount_point);
    }
    std::sort(below.begin(), below.end(),
              [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
    for (const std::string &mount_point : below)
        ::umount2(mount_point.c_str(), MNT_DETACH);
}

} // namespace

const char *name_of(Runtime runtime)
{
    return runtime == Runtime::runc ? "runc" : "crun";
}

std::string unique_name(const std::string &what)
{
    return "cgf-" + what + "-" + std::to_string(::getpid());
}

CgroupParent::~CgroupParent()
{
    try {
        auto mounts = read_mountinfo();
        if (!mounts)
            return;
        for (const MountEntry &m : *mounts) {
            if (m.fstype == "cgroup" || m.fstype == "cgroup2")
                ::rmdir((m.mount_point + "/" + name_).c_str());
        }
    } catch (...) { // cleanup does what it can
    }
}

OciContainer::OciContainer(Runtime runtime, const Bundle &bundle, const std::string &what)
    : runtime_(runtime), id_(unique_name(what)), bundle_(bundle.dir().string())
{
    if (runtime == Runtime::crun)
        move_hugetlb_to_cgroup_v1();
}

OciContainer::~OciContainer()
{
    try {
        if (exists_)
            (void)run_captured(invocation({"delete", "--force", id_}));
    } catch (...) { // cleanup does what it can
    }
}

std::vector<std::string> OciContainer::invocation(const std::vector<std::string> &args) const
{
    std::vector<std::string> argv = {name_of(runtime_), "--root", state_root_.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

Finished OciContainer::run_detached()
{
    exists_ = true; // a failed create may leave something to delete
    return run_captured(invocation({"run", "--detach", "--bundle", bundle_, id_}));
}

Finished OciContainer::run_to_end()
{
    exists_ = true; // deleted by the runtime when its process ends, unless that hangs
    return run_captured(invocation({"run", "--bundle", bundle_, id_}));
}

Finished OciContainer::stop_and_delete()
{
    (void)run_captured(invocation({"kill", id_, "KILL"}));
    const bool stopped = wait_until([this] { return status() == "stopped"; });
    if (!stopped)
        return Finished{kTimedOut, "", id_ + " did not stop after SIGKILL (" + status() + ")"};
    Finished deleted = run_captured(invocation({"delete", id_}));
    exists_ = deleted.status != 0;
    return deleted;
}

std::string OciContainer::status() const
{
    const Finished state = run_captured(invocation({"state", id_}));
    if (state.status != 0)
        return "";
    return nlohmann::json::parse(state.out).at("status").get<std::string>();
}

pid_t OciContainer::pid() const
{
    const Finished state = run_captured(invocation({"state", id_}));
    if (state.status != 0)
        throw std::runtime_error(name_of(runtime_) + std::string(" state: ") + summary(state));
    return nlohmann::json::parse(state.out).at("pid").get<pid_t>();
}

Finished OciContainer::exec(const std::vector<std::string> &command) const
{
    std::vector<std::string> argv = {"exec", id_};
    argv.insert(argv.end(), command.begin(), command.end());
    return run_captured(invocation(argv));
}

Spawned OciContainer::spawn_exec(const std::vector<std::string> &command) const
{
    std::vector<std::string> argv = {"exec", id_};
    argv.insert(argv.end(), command.begin(), command.end());
    return Spawned(invocation(argv));
}

PodmanStore::PodmanStore(StorageDriver driver) : driver_(driver)
{
    if (driver == StorageDriver::overlay)
        (void)run_captured({"modprobe", "-q", "overlay"}); // built in, or loaded, elsewhere
}

PodmanStore::~PodmanStore()
{
    try {
        unmount_below(dir_.path()); // what podman leaves, before the directory goes
    } catch (...) {                 // cleanup does what it can
    }
}

std::vector<std::string> PodmanStore::podman(const std::vector<std::string> &args,
                                             const fs::path &hooks_dir) const
{
    const fs::path &dir = dir_.path();
    // No systemd here: cgroupfs and a file for events. The network config
    // directory is podman's lock's place, which must be writable (the VM's
    // /etc is the host's, read-only).
    std::vector<std::string> argv = {"podman",
                                     "--root",
                                     (dir / "root").string(),
                                     "--runroot",
                                     (dir / "runroot").string(),
                                     "--tmpdir",
                                     (dir / "tmp").string(),
                                     "--network-config-dir",
                                     (dir / "networks").string(),
                                     "--storage-driver",
                                     driver_ == StorageDriver::vfs ? "vfs" : "overlay",
                                     "--cgroup-manager",
                                     "cgroupfs",
                                     "--events-backend",
                                     "file"};
    if (!hooks_dir.empty())
        argv.insert(argv.end(), {"--hooks-dir", hooks_dir.string()});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

void PodmanStore::import(const fs::path &tar, const std::string &name) const
{
    // Under TCG a root of ~100 MB takes a minute or more to unpack.
    const Finished run = run_captured(podman({"import", "--quiet", tar.string(), name}), "",
                                      std::chrono::minutes(5));
    if (run.status != 0)
        throw std::runtime_error("podman import " + tar.string() + ": " + summary(run));
}

fs::path PodmanStore::layer_dir(const std::string &image) const
{
    // The graph driver's UpperDir of an image is its top layer's directory.
    const Finished run = run_captured(
        podman({"image", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", image}));
    const std::string dir = first_line(run.out);
    if (run.status != 0 || dir.empty() || !fs::is_directory(dir))
        throw std::runtime_error("the layer directory of " + image + ": " + summary(run));
    return dir;
}

PodmanContainer::PodmanContainer(const fs::path &hooks_dir, const fs::path &rootfs)
    : own_store_(std::make_unique<PodmanStore>(StorageDriver::vfs)), store_(own_store_.get()),
      hooks_dir_(hooks_dir), rootfs_(rootfs), name_(unique_name("podman"))
{
    move_hugetlb_to_cgroup_v1(); // podman's runtime is crun
}

PodmanContainer::PodmanContainer(const PodmanStore &store, const fs::path &hooks_dir,
                                 std::string image)
    : store_(&store), hooks_dir_(hooks_dir), image_(std::move(image)), name_(unique_name("podman"))
{
    move_hugetlb_to_cgroup_v1(); // podman's runtime is crun
}

PodmanContainer::~PodmanContainer()
{
    try {
        if (!id_.empty())
            (void)remove();
    } catch (...) { // cleanup does what it can
    }
}

std::vector<std::string> PodmanContainer::podman(const std::vector<std::string> &args) const
{
    return store_->podman(args, hooks_dir_);
}

Finished PodmanContainer::run_detached(const std::vector<std::string> &options,
                                       const std::vector<std::string> &command)
{
    std::vector<std::string> args = {"run", "--detach", "--name", name_, "--network", "none"};
    // Explicit limits where podman cannot raise its own: the host lacks
    // CAP_SYS_RESOURCE. A rootfs container has them everywhere, as it always had.
    if (!rootfs_.empty() || !in_vm())
        args.insert(args.end(), {"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"});
    if (!rootfs_.empty())
        args.insert(args.end(), {"--security-opt", "unmask=ALL"});
    args.insert(args.end(), options.begin(), options.end());
    if (!rootfs_.empty())
        args.insert(args.end(), {"--rootfs", rootfs_.string()});
    else
        args.push_back(image_);
    args.insert(args.end(), command.begin(), command.end());
    Finished run = run_captured(podman(args));
    id_ = run.status == 0 ? first_line(run.out) : name_;
    pid_ = 0;
    return run;
}

Finished PodmanContainer::remove()
{
    Finished removed = run_captured(podman({"rm", "--force", "--time", "0", id_}));
    if (removed.status == 0)
        id_.clear();
    return removed;
}

Finished PodmanContainer::healthcheck() const
{
    return run_captured(podman({"healthcheck", "run", id_}));
}

std::string PodmanContainer::inspect(const std::string &format) const
{
    const Finished run = run_captured(podman({"inspect", "--format", format, id_}));
    if (run.status != 0)
        throw std::runtime_error("podman inspect: " + summary(run));
    return first_line(run.out);
}

std::string PodmanContainer::bundle() const
{
    return inspect("{{.StaticDir}}");
}

pid_t PodmanContainer::pid() const
{
    // Asked once: a podman call takes seconds under TCG, and the container's
    // process does not change while it runs.
    if (pid_ == 0)
        pid_ = static_cast<pid_t>(std::stol(inspect("{{.State.Pid}}")));
    return pid_;
}

Finished PodmanContainer::exec(const std::vector<std::string> &command) const
{
    std::vector<std::string> args = {"exec", id_};
    args.insert(args.end(), command.begin(), command.end());
    return run_captured(podman(args));
}

} // namespace cgfence::test
