// Per-task confinement: a task is its container's from its exec in the
// container's cgroup on, whatever cgroup or namespace it moves to, and so is
// every task it creates; the runtime's tasks before their exec are never
// judged, and no confined task can act through them. Every way out is shown
// working for an unconfined task first, then not working for a confined one.
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.hpp"
#include "loader.hpp"
#include "kernel_features.hpp"
#include "unique_fd.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

// A default-allow container denying one file, as in the attacks of issue 16.
struct Scene {
    TempDir dir;
    fs::path secret = dir / "secret";
    fs::path open = dir / "open";
    Scene()
    {
        write_file(secret, "secret\n");
        write_file(open, "open\n");
    }
    [[nodiscard]] ContainerPolicy policy(uint8_t mode = CGFENCE_MODE_ENFORCE) const
    {
        PolicyBuilder b(mode, RWX);
        rule(b, secret, 0);
        return b.build();
    }
};

// A process of a test: it joins `cgroup` (unless null), is armed there as
// asked, says it is ready, and runs `body` when told to go; its exit code is
// the body's return value. Killed at the end if it still runs.
class Peer {
  public:
    enum Arming {
        armed,   // exec'd there: a task of the container
        pending, // its exec there checked, never completed
        unarmed, // no exec there: the runtime's exec helper
    };

    Peer(const TestCgroup *cgroup, Arming arming, const std::function<int()> &body)
    {
        int ready[2], go[2];
        REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
        arming_file();
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(ready[0]);
            ::close(go[1]);
            if (cgroup) {
                const std::string procs = cgroup->path() + "/cgroup.procs";
                const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
                if (fd < 0 || ::write(fd, "0", 1) != 1)
                    ::_exit(250);
            }
            if (arming == armed)
                arm_here(); // the body runs in a child of this process
            else if (arming == pending)
                exec_arming_file();
            const pid_t self = ::getpid();
            (void)!::write(ready[1], &self, sizeof(self));
            char byte = 0;
            if (::read(go[0], &byte, 1) != 1)
                ::_exit(0);
            ::_exit(body());
        }
        ::close(ready[1]);
        ::close(go[0]);
        go_.reset(go[1]);
        REQUIRE(::read(ready[0], &body_pid_, sizeof(body_pid_)) == sizeof(body_pid_));
        ::close(ready[0]);
    }
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;
    ~Peer()
    {
        if (pid_ > 0) {
            ::kill(body_pid_, SIGKILL);
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    // The process that runs the body.
    [[nodiscard]] pid_t pid() const { return body_pid_; }

    // Moves it into `cgroup` from here (the test, unconfined), and the
    // process that waits for it (armed), so that nothing is left behind.
    void move_to(const std::string &cgroup_dir) const
    {
        for (const pid_t pid : {body_pid_, pid_}) {
            std::ofstream procs(cgroup_dir + "/cgroup.procs");
            procs << pid << std::flush;
            REQUIRE(procs.good());
        }
    }

    // Lets it run its body; the body's return value.
    int finish()
    {
        REQUIRE(::write(go_.get(), "g", 1) == 1);
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

  private:
    pid_t pid_ = -1;      // the child: the body's process, or its parent
    pid_t body_pid_ = -1; // the process that runs the body
    UniqueFd go_;
};

int wait_forever()
{
    for (;;)
        ::pause();
}

// The cgroup (v2 path) a process is in, from its own view.
std::string own_cgroup()
{
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("0::", 0) == 0)
            return line.substr(3);
    }
    return "?";
}

// The ids of one of cgfence's maps and one of its programs.
struct CgfenceIds {
    uint32_t map = 0;
    uint32_t program = 0;
};

CgfenceIds cgfence_ids()
{
    auto shape = map_shape(suite_maps().policies.get());
    REQUIRE(shape.ok());
    const fs::path pin = fs::directory_iterator(PinLayout{suite_pin_dir()}.progs())->path();
    UniqueFd program(bpf_obj_get(pin.c_str()));
    REQUIRE(program);
    bpf_prog_info info{};
    uint32_t size = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(program.get(), &info, &size) == 0);
    return {shape->id, info.id};
}

// 0 when fds to the map and the program could be had (closed again), else
// the first errno.
int cgfence_fd_errno(const CgfenceIds &ids)
{
    for (const int fd : {bpf_map_get_fd_by_id(ids.map), bpf_prog_get_fd_by_id(ids.program)}) {
        if (fd < 0)
            return errno;
        ::close(fd);
    }
    return 0;
}

// clone3 into the cgroup of `cgroup_fd`; the child runs `body` and exits with
// its value. The child's exit code, or -errno when clone3 failed.
int clone_into(int cgroup_fd, const std::function<int()> &body)
{
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    std::fflush(nullptr);
    const long pid = ::syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0)
        return -errno;
    if (pid == 0)
        ::_exit(body());
    int status = 0;
    ::waitpid(static_cast<pid_t>(pid), &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// What a task that left its container finds: the secret still denied, no fd
// to cgfence's maps or programs. 0 when both hold, else which did not (1, 2)
// and 3 when the task did not leave at all.
int still_confined_outside(const fs::path &secret, const CgfenceIds &ids)
{
    if (own_cgroup() != "/")
        return 3;
    if (open_errno(secret, O_RDONLY) != EACCES)
        return 1;
    if (cgfence_fd_errno(ids) != EPERM)
        return 2;
    return 0;
}

// What an unconfined task that left finds: the secret readable, the fds.
int free_outside(const fs::path &secret, const CgfenceIds &ids)
{
    if (own_cgroup() != "/")
        return 3;
    if (open_errno(secret, O_RDONLY) != 0)
        return 1;
    if (cgfence_fd_errno(ids) != 0)
        return 2;
    return 0;
}

int write_pid_to(const std::string &cgroup_dir)
{
    const int fd = ::open((cgroup_dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    const bool written = ::write(fd, "0", 1) == 1;
    const int err = errno;
    ::close(fd);
    return written ? 0 : err;
}

const std::string &root_cgroup()
{
    static const std::string root = cgroup2_mount();
    return root;
}

} // namespace

TEST_CASE("a task is judged from its exec in the container's cgroup on, and so is everything it "
          "creates")
{
    Scene s;
    Container c("arming", s.policy());
    // Before its exec (a runtime's init, an exec helper): not judged.
    CHECK(c.run_unarmed([&] { return open_errno(s.secret, O_RDONLY); }) == 0);
    // Its exec arms it, before the program runs: busybox cat is denied.
    const std::string secret = s.secret.string();
    CHECK(c.run_unarmed([&] {
        ::execl("/bin/busybox", "cat", secret.c_str(), nullptr);
        return 100;
    }) == 1);
    // Armed: its children (processes and threads) are the container's too.
    CHECK(c.run([&] { return open_errno(s.secret, O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return run_outside([&] { return open_errno(s.secret, O_RDONLY); }); }) ==
          EACCES);
    struct ThreadWork {
        const fs::path *secret;
        int result = -1;
    };
    CHECK(c.run([&] {
        ThreadWork work{&s.secret};
        pthread_t thread{};
        auto open_secret = [](void *p) -> void * {
            auto *w = static_cast<ThreadWork *>(p);
            w->result = open_errno(*w->secret, O_RDONLY);
            return nullptr;
        };
        if (::pthread_create(&thread, nullptr, open_secret, &work) != 0)
            return 99;
        ::pthread_join(thread, nullptr);
        return work.result;
    }) == EACCES);
    CHECK(c.run([&] { return open_errno(s.open, O_RDONLY); }) == 0);
}

TEST_CASE("a task of the container's cgroup that execs outside the container's mount namespace is "
          "not armed: a host task moved in, a runtime helper that execs itself first")
{
    Scene s;
    Container c("other-view", s.policy());
    const std::string secret = s.secret.string();
    auto exec_cat = [&] {
        ::execl("/bin/busybox", "cat", secret.c_str(), nullptr);
        return 100;
    };
    CHECK(c.run_unarmed(exec_cat) == 1); // in the container's view: armed, denied
    CHECK(c.run_unarmed([&] { return ::unshare(CLONE_NEWNS) == 0 ? exec_cat() : 200; }) == 0);
}

TEST_CASE(
    "a confined task cannot write cgroup.procs outside its container's subtree; inside it can")
{
    Scene s;
    Container c("procs", s.policy());
    TestCgroup inner(c.cgroup(), "inner");
    TestCgroup elsewhere("procs-elsewhere");
    // Unconfined, the move works (the route exists).
    CHECK(c.run_unarmed([&] { return write_pid_to(root_cgroup()); }) == 0);
    // Confined: out to the root or another cgroup, refused; within, allowed.
    CHECK(c.run([&] { return write_pid_to(root_cgroup()); }) == EPERM);
    CHECK(c.run([&] { return write_pid_to(elsewhere.path()); }) == EPERM);
    CHECK(c.run([&] { return write_pid_to(inner.path()); }) == 0);
    // And in audit mode too: leaving is built in, not the profile's.
    Container audit("procs-audit", s.policy(CGFENCE_MODE_AUDIT));
    CHECK(audit.run([&] { return write_pid_to(root_cgroup()); }) == EPERM);
}

TEST_CASE("a confined task moved out of its container by the host stays its container's")
{
    Scene s;
    Container c("moved", s.policy());
    const CgfenceIds ids = cgfence_ids();
    Peer free_task(&c.cgroup(), Peer::unarmed, [&] { return free_outside(s.secret, ids); });
    Peer confined(&c.cgroup(), Peer::armed, [&] { return still_confined_outside(s.secret, ids); });
    free_task.move_to(root_cgroup());
    confined.move_to(root_cgroup());
    CHECK(free_task.finish() == 0);
    CHECK(confined.finish() == 0);
}

TEST_CASE("clone3(CLONE_INTO_CGROUP) out of the container: the child is still the container's")
{
    Scene s;
    Container c("clone3", s.policy());
    const CgfenceIds ids = cgfence_ids();
    const std::string &root = root_cgroup();
    auto escape = [&](const std::function<int()> &in_child) {
        const int cgroup = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroup < 0)
            return 200;
        const int result = clone_into(cgroup, in_child);
        ::close(cgroup);
        return result < 0 ? 201 : result;
    };
    CHECK(c.run_unarmed([&] { return escape([&] { return free_outside(s.secret, ids); }); }) == 0);
    CHECK(c.run([&] { return escape([&] { return still_confined_outside(s.secret, ids); }); }) ==
          0);
}

TEST_CASE("in a cgroup namespace, the root cgroup opened by handle and cloned into: still the "
          "container's")
{
    Scene s;
    Container c("by-handle", s.policy());
    const CgfenceIds ids = cgfence_ids();
    // The handle of the hierarchy's root, made outside; the mount fd is any
    // directory of the cgroup2 filesystem, here the container's own cgroup.
    alignas(file_handle) unsigned char buffer[sizeof(file_handle) + MAX_HANDLE_SZ] = {};
    auto *handle = reinterpret_cast<file_handle *>(buffer);
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    REQUIRE(::name_to_handle_at(AT_FDCWD, root_cgroup().c_str(), handle, &mount_id, 0) == 0);
    const std::string own = c.cgroup().path();
    auto escape = [&](const std::function<int()> &in_child) {
        if (::unshare(CLONE_NEWCGROUP) != 0)
            return 202;
        const int mount_fd = ::open(own.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const int cgroup = ::open_by_handle_at(mount_fd, handle, O_RDONLY | O_DIRECTORY);
        if (mount_fd < 0 || cgroup < 0)
            return 200;
        const int result = clone_into(cgroup, in_child);
        ::close(cgroup);
        ::close(mount_fd);
        return result < 0 ? 201 : result;
    };
    // In a cgroup namespace /proc/self/cgroup shows paths relative to it:
    // these checks do without it.
    auto outside_free = [&] {
        return open_errno(s.secret, O_RDONLY) == 0 && cgfence_fd_errno(ids) == 0 ? 0 : 1;
    };
    auto outside_confined = [&] {
        return open_errno(s.secret, O_RDONLY) == EACCES && cgfence_fd_errno(ids) == EPERM ? 0 : 1;
    };
    CHECK(c.run_unarmed([&] { return escape(outside_free); }) == 0);
    CHECK(c.run([&] { return escape(outside_confined); }) == 0);
}

TEST_CASE("a task that carries a container's mark keeps it in another container's cgroup")
{
    Scene a;
    Scene b;
    Container first("first", a.policy());
    Container second("second", b.policy());
    const std::string secret_a = a.secret.string();
    // Armed in the first container, moved to the second's cgroup, it execs:
    // it is judged as the first's (b's secret readable, a's not).
    Peer task(&first.cgroup(), Peer::armed, [&] {
        if (open_errno(b.secret, O_RDONLY) != 0)
            return 1;
        ::execl("/bin/busybox", "cat", secret_a.c_str(), nullptr);
        return 100;
    });
    task.move_to(second.cgroup().path());
    CHECK(task.finish() == 1); // cat: can't open: Permission denied
}

TEST_CASE("an orphan, a task whose container's policy is gone, is denied everything and counted")
{
    Scene s;
    auto c = std::make_unique<Container>("orphan", s.policy());
    const uint64_t container = c->id();
    Peer task(&c->cgroup(), Peer::armed, [&] { return open_errno(s.open, O_RDONLY); });
    task.move_to(root_cgroup());
    auto before = read_counters(suite_maps(), 0);
    REQUIRE(before.ok());
    take_events(0);
    c.reset(); // torn down: its policy, counters and record are gone
    CHECK(task.finish() == EACCES);
    auto after = read_counters(suite_maps(), 0);
    REQUIRE(after.ok());
    CHECK(after->denied == before->denied + 1);
    // Its record names its container.
    CHECK(take_events(container).size() == 1);
}

TEST_CASE("events say whether the task is the container's own or came in by an exec")
{
    Scene s;
    Container c("origin", s.policy());
    take_events(0);
    CHECK(c.run([&] { return open_errno(s.secret, O_RDONLY); }) == EACCES); // the first exec
    CHECK(c.run([&] { return open_errno(s.secret, O_RDONLY); }) == EACCES); // a later one
    const auto events = take_events(c.id());
    REQUIRE(events.size() == 2);
    CHECK(events[0].origin == CGFENCE_ORIGIN_INIT);
    CHECK(events[1].origin == CGFENCE_ORIGIN_EXEC);
}

namespace {

int marker = 42; // read from another process at the same address (fork)

// Ways into another task, each its errno (0: it worked).
int ptrace_attach(pid_t pid)
{
    if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0)
        return errno;
    ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    return 0;
}

int read_memory(pid_t pid)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/mem";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int value = 0;
    const ssize_t n = ::pread(fd, &value, sizeof(value), reinterpret_cast<off_t>(&marker));
    const int err = errno;
    ::close(fd);
    return n == sizeof(value) && value == 42 ? 0 : (n < 0 ? err : EIO);
}

// 0 when /proc/PID/<entry> opens and gives something to read, else the errno.
int read_proc_entry(pid_t pid, const char *entry)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/" + entry;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    char text[64];
    const ssize_t n = ::read(fd, text, sizeof(text));
    const int err = errno;
    ::close(fd);
    return n > 0 ? 0 : (n < 0 ? err : ENODATA);
}

int vm_read(pid_t pid)
{
    int value = 0;
    iovec local{&value, sizeof(value)};
    iovec remote{&marker, sizeof(marker)};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(value))
        return errno;
    return value == 42 ? 0 : EIO;
}

int take_fd(pid_t pid)
{
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0)
        return errno;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, 0, 0));
    const int err = errno;
    ::close(pidfd);
    if (fd < 0)
        return err;
    ::close(fd);
    return 0;
}

// 0 when /proc/PID/<entry> opens (closed again), else the errno.
int open_proc_entry(pid_t pid, const char *entry, int flags)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/" + entry;
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ::close(fd);
    return 0;
}

int reach_root(pid_t pid)
{
    return open_proc_entry(pid, "root/", O_RDONLY | O_DIRECTORY);
}

int reach_mount_namespace(pid_t pid)
{
    return open_proc_entry(pid, "ns/mnt", O_RDONLY);
}

struct Way {
    const char *name;
    int (*attempt)(pid_t);
    int refused; // the errno a refusal shows
};

const Way kWaysIn[] = {
    {"ptrace", ptrace_attach, EPERM},
    {"/proc/PID/mem", read_memory, EPERM},
    {"/proc/PID/environ", [](pid_t pid) { return read_proc_entry(pid, "environ"); }, EPERM},
    {"/proc/PID/auxv", [](pid_t pid) { return read_proc_entry(pid, "auxv"); }, EPERM},
    {"/proc/PID/maps", [](pid_t pid) { return read_proc_entry(pid, "maps"); }, EPERM},
    {"/proc/PID/task/PID/environ",
     [](pid_t pid) {
         return read_proc_entry(pid, ("task/" + std::to_string(pid) + "/environ").c_str());
     },
     EPERM},
    {"process_vm_readv", vm_read, EPERM},
    {"pidfd_getfd", take_fd, EPERM},
    {"/proc/PID/root", reach_root, EACCES},
    {"/proc/PID/ns/mnt", reach_mount_namespace, EACCES},
};

// A one-byte message with room for one fd.
struct FdMessage {
    char byte = 'f';
    iovec data{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr header{};

    FdMessage()
    {
        header.msg_iov = &data;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof(control);
    }
    FdMessage(const FdMessage &) = delete;
    FdMessage &operator=(const FdMessage &) = delete;
};

// Sends an fd of `path` over `socket`; 0 when sent.
int send_fd(int socket, const fs::path &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    FdMessage message;
    cmsghdr *rights = CMSG_FIRSTHDR(&message.header);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(rights), &fd, sizeof(int));
    const bool sent = ::sendmsg(socket, &message.header, 0) == 1;
    ::close(fd);
    return sent ? 0 : errno;
}

// Receives one message on `socket`: 0 when it came with an fd, EPERM when
// the kernel dropped the fd (MSG_CTRUNC), else the errno.
int receive_fd(int socket)
{
    FdMessage message;
    if (::recvmsg(socket, &message.header, MSG_CMSG_CLOEXEC) != 1)
        return errno;
    const cmsghdr *rights = CMSG_FIRSTHDR(&message.header);
    if (rights && rights->cmsg_type == SCM_RIGHTS && rights->cmsg_len == CMSG_LEN(sizeof(int))) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(rights), sizeof(int));
        ::close(fd);
        return 0;
    }
    return (message.header.msg_flags & MSG_CTRUNC) ? EPERM : ENOMSG;
}

} // namespace

TEST_CASE("the exec window: a confined task cannot reach into a task of its cgroup that has not "
          "exec'd yet")
{
    Scene s;
    Container c("window", s.policy());
    Peer helper(&c.cgroup(), Peer::unarmed, wait_forever); // a runtime's exec helper
    Peer own(&c.cgroup(), Peer::armed, wait_forever);      // a task of the container
    for (const Way &way : kWaysIn) {
        CAPTURE(way.name);
        // The way works for the host, and inside the container between its own tasks...
        CHECK(run_outside([&] { return way.attempt(helper.pid()); }) == 0);
        CHECK(c.run([&] { return way.attempt(own.pid()); }) == 0);
        // ...but not from a confined task to the helper, in any mode.
        CHECK(c.run([&] { return way.attempt(helper.pid()); }) == way.refused);
    }
}

TEST_CASE("a task of the container whose exec is under way is out of its container's reach until "
          "the exec is done")
{
    Scene s;
    Container c("pending", s.policy());
    Peer execing(&c.cgroup(), Peer::pending, wait_forever);
    Peer done(&c.cgroup(), Peer::armed, wait_forever);
    for (const Way &way : kWaysIn) {
        CAPTURE(way.name);
        CHECK(c.run([&] { return way.attempt(done.pid()); }) == 0);
        CHECK(c.run([&] { return way.attempt(execing.pid()); }) == way.refused);
    }
    // It is the container's all the same: judged by its policy.
    Peer judged(&c.cgroup(), Peer::pending, [&] { return open_errno(s.secret, O_RDONLY); });
    CHECK(judged.finish() == EACCES);
}

TEST_CASE("a confined task cannot reach into the host's tasks")
{
    Scene s;
    Container c("host-tasks", s.policy(CGFENCE_MODE_AUDIT));
    Peer host(nullptr, Peer::unarmed, wait_forever);
    for (const Way &way : kWaysIn) {
        CAPTURE(way.name);
        CHECK(run_outside([&] { return way.attempt(host.pid()); }) == 0);
        CHECK(c.run([&] { return way.attempt(host.pid()); }) == way.refused);
    }
}

TEST_CASE("the exec window: a task of the cgroup that has not exec'd yet receives no fd")
{
    Scene s;
    Container c("window-fds", s.policy());
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    UniqueFd sender(pair[0]), receiver(pair[1]);
    auto send_to = [&](Peer::Arming arming, const TestCgroup *cgroup) {
        Peer peer(cgroup, arming, [&] { return receive_fd(receiver.get()); });
        const int sent = c.run([&] { return send_fd(sender.get(), s.open); });
        return sent != 0 ? 300 + sent : peer.finish();
    };
    // The fd arrives at the host's task and at the container's own...
    CHECK(send_to(Peer::unarmed, nullptr) == 0);
    CHECK(send_to(Peer::armed, &c.cgroup()) == 0);
    // ...not at a task in the window.
    CHECK(send_to(Peer::unarmed, &c.cgroup()) == EPERM);
}

TEST_CASE("PTRACE_TRACEME: a task not of the container cannot offer itself to a confined parent")
{
    Scene s;
    Container c("traceme", s.policy());
    const std::string procs = c.cgroup().path();
    // A parent in the container's cgroup forks a child first, then execs (is
    // armed); the child, left without the mark, asks to be traced.
    auto traceme_under = [&](bool arm_parent) {
        return run_unarmed_in(c.cgroup(), [&] {
            int go[2];
            if (::pipe(go) != 0)
                return 200;
            const pid_t child = ::fork();
            if (child == 0) {
                char byte = 0;
                (void)!::read(go[0], &byte, 1);
                ::_exit(::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0 ? 0 : errno);
            }
            if (arm_parent)
                exec_arming_file();
            (void)!::write(go[1], "g", 1);
            int status = 0;
            ::waitpid(child, &status, 0);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 201;
        });
    };
    CHECK(traceme_under(false) == 0);
    CHECK(traceme_under(true) == EPERM);
}

TEST_CASE("marks live where this kernel's task storage serves LSM programs, else in the hash, "
          "which empties as tasks go")
{
    auto vmlinux = load_kernel_btf();
    REQUIRE(vmlinux.ok());
    const MarkStore store = mark_store_for_kernel(vmlinux->get());
    auto shape = map_shape(suite_maps().marks.get());
    REQUIRE(shape.ok());
    MESSAGE("marks: " << std::string(mark_store_name(store)));
    if (store == MarkStore::task_storage) {
        CHECK(shape->type == BPF_MAP_TYPE_TASK_STORAGE);
        return;
    }
    CHECK(shape->type == BPF_MAP_TYPE_HASH);
    CHECK(shape->max_entries == CGFENCE_MAX_MARKED_TASKS);
    Scene s;
    Container c("hash-empties", s.policy());
    auto count = [] { return map_u64_keys(suite_maps().marks.get())->size(); };
    const size_t before = count();
    for (int i = 0; i < 20; i++)
        CHECK(c.run([] { return run_outside([] { return 0; }); }) == 0);
    // A task's slot goes when the task is freed, after an RCU grace period.
    size_t after = count();
    for (int attempt = 0; attempt < 200 && after > before; attempt++) {
        ::usleep(10000);
        after = count();
    }
    CHECK(after <= before);
}
