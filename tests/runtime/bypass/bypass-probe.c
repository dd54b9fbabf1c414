/* bypass-probe: one way around cgfence per subcommand, run inside a confined
 * container by the runtime suite's bypass tests (tests/runtime/bypass_tests.cpp).
 * Static, so that it needs nothing of the container's rootfs but itself.
 *
 *   bypass-probe TECHNIQUE ARG...
 *
 * Each subcommand sets up what the technique needs, then tries to reach a
 * denied object, and prints one line saying what happened. Exit status:
 *   0   the access SUCCEEDED: a bypass
 *   13  denied with EACCES or EPERM at a step that must be denied
 *   77  the technique is not available here (io_uring off): a skip
 *   2   a setup step failed (the line names the step and errno): the
 *       attempt proved nothing
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum { BYPASSED = 0, SETUP_FAILED = 2, DENIED = 13, UNAVAILABLE = 77 };

static int bypassed(const char *what)
{
    printf("BYPASS: %s succeeded\n", what);
    return BYPASSED;
}

static int setup_failed(const char *step)
{
    printf("setup failed: %s: %s (errno %d)\n", step, strerror(errno), errno);
    return SETUP_FAILED;
}

/* The verdict of the step that must be denied, from its result and errno. */
static int judged(const char *step, int result)
{
    if (result >= 0)
        return bypassed(step);
    if (errno == EACCES || errno == EPERM) {
        printf("denied: %s: %s\n", step, strerror(errno));
        return DENIED;
    }
    return setup_failed(step);
}

/* Opens `path` for reading and reads a byte: the access every technique aims at. */
static int open_and_read(const char *step, const char *path)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return judged(step, fd);
    char byte;
    const ssize_t got = read(fd, &byte, 1);
    close(fd);
    return judged(step, got < 0 ? -1 : 0);
}

static int write_text(const char *path, const char *text)
{
    const int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    const ssize_t len = (ssize_t)strlen(text);
    const ssize_t done = write(fd, text, (size_t)len);
    close(fd);
    return done == len ? 0 : -1;
}

/* A mount namespace of our own whose mounts do not propagate back to the container's. */
static int private_mount_namespace(int extra_flags)
{
    if (unshare(CLONE_NEWNS | extra_flags) != 0)
        return -1;
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* open PATH: the plain attempt (also the first-exec one). */
static int t_open(char **argv)
{
    return open_and_read("open", argv[0]);
}

/* hardlink DENIED LINK: a second name in a writable directory. The link
 * itself may be refused (it would gain rights), or the new name denied. */
static int t_hardlink(char **argv)
{
    unlink(argv[1]);
    if (link(argv[0], argv[1]) != 0)
        return judged("link", -1);
    const int verdict = open_and_read("open of the link", argv[1]);
    unlink(argv[1]);
    return verdict;
}

/* symlink DENIED LINK1 LINK2: LINK2 -> LINK1 -> DENIED, opened through both. */
static int t_symlink(char **argv)
{
    unlink(argv[1]);
    unlink(argv[2]);
    if (symlink(argv[0], argv[1]) != 0 || symlink(argv[1], argv[2]) != 0)
        return setup_failed("symlink");
    const int one = open_and_read("open of a symlink", argv[1]);
    const int chain = open_and_read("open of a symlink chain", argv[2]);
    unlink(argv[1]);
    unlink(argv[2]);
    if (one == BYPASSED || chain == BYPASSED)
        return BYPASSED;
    return one == DENIED && chain == DENIED ? DENIED : SETUP_FAILED;
}

/* proc-fd DENIED: an O_PATH descriptor (no open check) reopened through /proc/self/fd. */
static int t_proc_fd(char **argv)
{
    const int fd = open(argv[0], O_PATH | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open O_PATH");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open_and_read("reopen through /proc/self/fd", path);
}

/* proc-root DENIED: the same file through /proc/self/root and /proc/1/root. */
static int t_proc_root(char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "/proc/%d/root%s", (int)getpid(), argv[0]);
    const int own = open_and_read("open through /proc/<own pid>/root", path);
    snprintf(path, sizeof path, "/proc/1/root%s", argv[0]);
    const int init = open_and_read("open through /proc/1/root", path);
    if (own == BYPASSED || init == BYPASSED)
        return BYPASSED;
    return own == DENIED && init == DENIED ? DENIED : SETUP_FAILED;
}

/* A file handle with room for any filesystem's. */
struct saved_handle {
    struct file_handle handle;
    unsigned char bytes[MAX_HANDLE_SZ];
};

static int handle_of(const char *path, struct saved_handle *h)
{
    int mount_id = 0;

    h->handle.handle_bytes = MAX_HANDLE_SZ;
    return name_to_handle_at(AT_FDCWD, path, &h->handle, &mount_id, 0);
}

/* open_by_handle_at of `h` on `mount_fd`, and a read: the step judged. */
static int open_handle_and_read(int mount_fd, struct saved_handle *h)
{
    const int fd = open_by_handle_at(mount_fd, &h->handle, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return judged("open_by_handle_at", -1);
    char byte;
    return judged("read of the handle's file", read(fd, &byte, 1) < 0 ? -1 : 0);
}

/* handle DENIED: name_to_handle_at, then open_by_handle_at on a descriptor of
 * "/" (needs CAP_DAC_READ_SEARCH). The dentry the kernel finds for the handle
 * may be disconnected (no path to the root) when it is not cached. */
static int t_handle(char **argv)
{
    struct saved_handle h;
    if (handle_of(argv[0], &h) != 0)
        return setup_failed("name_to_handle_at");
    const int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0)
        return setup_failed("open /");
    return open_handle_and_read(mount_fd, &h);
}

/* handle-save PATH FILE: PATH's handle written to FILE, for handle-open in a
 * later process, after the test evicted the file's dentry. */
static int t_handle_save(char **argv)
{
    struct saved_handle h;
    if (handle_of(argv[0], &h) != 0)
        return setup_failed("name_to_handle_at");
    const int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const size_t size = sizeof h.handle + h.handle.handle_bytes;
    if (fd < 0 || write(fd, &h, size) != (ssize_t)size)
        return setup_failed("write of the handle");
    close(fd);
    printf("saved\n");
    return BYPASSED;
}

/* Reads a handle that handle-save wrote to `file`, and opens `mount_dir` (a
 * directory of the handle's filesystem): its descriptor, or -1 when either
 * fails (the failure printed). */
static int saved_handle_and_mount(const char *file, const char *mount_dir, struct saved_handle *h)
{
    const int in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0 || read(in, h, sizeof *h) < (ssize_t)sizeof h->handle) {
        setup_failed("read of the saved handle");
        return -1;
    }
    const int mount_fd = open(mount_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0)
        setup_failed("open of the mount directory");
    return mount_fd;
}

/* handle-open FILE MOUNTDIR: open_by_handle_at of a saved handle, with a
 * descriptor of MOUNTDIR (a directory of the file's filesystem). When the
 * file's dentry is not cached, the kernel makes a disconnected one: no path
 * leads from it to the root. */
static int t_handle_open(char **argv)
{
    struct saved_handle h;
    const int mount_fd = saved_handle_and_mount(argv[0], argv[1], &h);
    if (mount_fd < 0)
        return SETUP_FAILED;
    return open_handle_and_read(mount_fd, &h);
}

/* opath-link DENIED LINK: linkat(AT_EMPTY_PATH) of an O_PATH descriptor: a
 * name made without naming the file (needs CAP_DAC_READ_SEARCH). */
static int t_opath_link(char **argv)
{
    const int fd = open(argv[0], O_PATH | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open O_PATH");
    unlink(argv[1]);
    if (linkat(fd, "", AT_FDCWD, argv[1], AT_EMPTY_PATH) != 0)
        return judged("linkat AT_EMPTY_PATH", -1);
    const int verdict = open_and_read("open of the new name", argv[1]);
    unlink(argv[1]);
    return verdict;
}

/* bind DENIED_DIR MOUNTPOINT FILE: a bind mount of a denied directory onto an
 * allowed one, then FILE (below the mount point) opened. */
static int t_bind(char **argv)
{
    if (private_mount_namespace(0) != 0)
        return setup_failed("unshare(CLONE_NEWNS)");
    if (mount(argv[0], argv[1], NULL, MS_BIND, NULL) != 0)
        return setup_failed("mount --bind");
    return open_and_read("open below the bind mount", argv[2]);
}

/* move DENIED_DIR MOUNTPOINT FILE: the denied directory made a mount (bound on
 * itself) and moved onto an allowed one. */
static int t_move(char **argv)
{
    if (private_mount_namespace(0) != 0)
        return setup_failed("unshare(CLONE_NEWNS)");
    if (mount(argv[0], argv[0], NULL, MS_BIND, NULL) != 0)
        return setup_failed("mount --bind on itself");
    if (mount(argv[0], argv[1], NULL, MS_MOVE, NULL) != 0)
        return setup_failed("mount --move");
    return open_and_read("open below the moved mount", argv[2]);
}

/* rename FROM TO FILE: a denied object moved to where it would be allowed; the
 * rename may be refused, or FILE (its new name, or below it) stays denied. */
static int t_rename(char **argv)
{
    if (rename(argv[0], argv[1]) != 0)
        return judged("rename", -1);
    const int verdict = open_and_read("open after the rename", argv[2]);
    (void)rename(argv[1], argv[0]);
    return verdict;
}

/* move-away FROM TO DECOY: a directory holding a denied object renamed away,
 * and an empty decoy made at the denied object's path, for a restart to
 * resolve the rule onto. Left so (the restart's open shows the outcome). */
static int t_move_away(char **argv)
{
    if (rename(argv[0], argv[1]) != 0)
        return judged("rename of the directory holding the denied one", -1);
    if (mkdir(argv[0], 0755) != 0 || mkdir(argv[2], 0755) != 0)
        return setup_failed("mkdir of the decoy");
    printf("moved %s to %s, decoy at %s\n", argv[0], argv[1], argv[2]);
    return BYPASSED;
}

/* bind-over TARGET: an empty file of our own bound over TARGET, in the
 * container's own mount namespace (for a later `apply` to resolve through). */
static int t_bind_over(char **argv)
{
    const char *decoy = "/tmp/bypass-decoy";
    const int fd = open(decoy, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return setup_failed("create the decoy");
    close(fd);
    if (mount(decoy, argv[0], NULL, MS_BIND, NULL) != 0)
        return setup_failed("mount --bind of the decoy");
    printf("decoy bound over %s\n", argv[0]);
    return BYPASSED;
}

/* umount-open TARGET: what bind-over covered, uncovered and opened. */
static int t_umount_open(char **argv)
{
    if (umount2(argv[0], MNT_DETACH) != 0)
        return setup_failed("umount of the decoy");
    return open_and_read("open of the uncovered object", argv[0]);
}

/* rename-over FROM DENIED_DIR: an allowed empty directory renamed over a
 * denied empty one: replacing it is a write to the denied directory. */
static int t_rename_over(char **argv)
{
    return judged("rename over the denied directory", rename(argv[0], argv[1]));
}

/* unshare-mnt DENIED, unshare-user DENIED: new namespaces, same cgroup. */
static int t_unshare_mnt(char **argv)
{
    if (private_mount_namespace(0) != 0)
        return setup_failed("unshare(CLONE_NEWNS)");
    return open_and_read("open in a new mount namespace", argv[0]);
}

static int t_unshare_user(char **argv)
{
    if (unshare(CLONE_NEWUSER) != 0)
        return setup_failed("unshare(CLONE_NEWUSER)");
    return open_and_read("open in a new user namespace", argv[0]);
}

/* userns-bind DENIED_DIR MOUNTPOINT FILE: a user namespace gives a mount
 * namespace of its own, where the bind mount is made. */
static int t_userns_bind(char **argv)
{
    if (private_mount_namespace(CLONE_NEWUSER) != 0)
        return setup_failed("unshare(CLONE_NEWUSER | CLONE_NEWNS)");
    if (mount(argv[0], argv[1], NULL, MS_BIND | MS_REC, NULL) != 0)
        return setup_failed("mount --bind in the user namespace");
    return open_and_read("open below the bind mount (user namespace)", argv[2]);
}

/* cgroup-child MOUNTPOINT DENIED: cgroup2 (the container's cgroup namespace)
 * mounted, a child cgroup made, this process moved into it, DENIED opened.
 * The process moves back and removes the child at the end. */
static int t_cgroup_child(char **argv)
{
    char child[4096], procs[4200];
    if (private_mount_namespace(0) != 0)
        return setup_failed("unshare(CLONE_NEWNS)");
    mkdir(argv[0], 0755);
    if (mount("cgroup2", argv[0], "cgroup2", 0, NULL) != 0)
        return setup_failed("mount cgroup2");
    snprintf(child, sizeof child, "%s/bypass-%d", argv[0], (int)getpid());
    if (mkdir(child, 0755) != 0)
        return setup_failed("mkdir of a child cgroup");
    snprintf(procs, sizeof procs, "%s/cgroup.procs", child);
    if (write_text(procs, "0") != 0)
        return setup_failed("move into the child cgroup");
    const int verdict = open_and_read("open from a child cgroup", argv[1]);
    char parent_procs[4200];
    snprintf(parent_procs, sizeof parent_procs, "%s/cgroup.procs", argv[0]);
    (void)write_text(parent_procs, "0");
    (void)rmdir(child);
    return verdict;
}

/* Copies `path` into a new memfd; the fd, or -1. */
static int memfd_copy(const char *path)
{
    const int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    const int out = memfd_create("bypass", 0);
    char buf[65536];
    ssize_t got;
    while (out >= 0 && (got = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)got) != got)
            return -1;
    }
    close(in);
    return out;
}

static char *const kEnv[] = {"PATH=/bin", NULL};

/* memfd-exec BINARY: a readable, non-executable busybox copied into a memfd
 * and run by fexecve (execveat AT_EMPTY_PATH); it prints when it runs. */
static int t_memfd_exec(char **argv)
{
    const int fd = memfd_copy(argv[0]);
    if (fd < 0)
        return setup_failed("copy into a memfd");
    char *const args[] = {"echo", "BYPASS: the memfd copy ran", NULL};
    syscall(SYS_execveat, fd, "", args, kEnv, AT_EMPTY_PATH);
    return judged("execveat of the memfd", -1);
}

/* exec PATH: execve of a file without x (a script runs "BYPASS" lines). */
static int t_exec(char **argv)
{
    char *const args[] = {argv[0], "echo", "BYPASS: it ran", NULL};
    execve(argv[0], args, kEnv);
    return judged("execve", -1);
}

/* opath-exec PATH: execveat AT_EMPTY_PATH of an O_PATH descriptor. */
static int t_opath_exec(char **argv)
{
    const int fd = open(argv[0], O_PATH);
    if (fd < 0)
        return setup_failed("open O_PATH");
    char *const args[] = {"echo", "BYPASS: it ran", NULL};
    syscall(SYS_execveat, fd, "", args, kEnv, AT_EMPTY_PATH);
    return judged("execveat of an O_PATH descriptor", -1);
}

/* mmap-exec PATH and mprotect-exec PATH: a readable, non-x file mapped executable. */
static int t_mmap_exec(char **argv)
{
    const int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open for reading");
    void *map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    return judged("mmap PROT_EXEC", map == MAP_FAILED ? -1 : 0);
}

static int t_mprotect_exec(char **argv)
{
    const int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open for reading");
    void *map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return setup_failed("mmap PROT_READ");
    return judged("mprotect PROT_EXEC", mprotect(map, 4096, PROT_READ | PROT_EXEC));
}

/* Writes to a file without w, by calls other than open. */
static int t_truncate(char **argv)
{
    return judged("truncate", truncate(argv[0], 0));
}

static int t_chmod(char **argv)
{
    return judged("chmod", chmod(argv[0], 0600));
}

static int t_utimes(char **argv)
{
    return judged("utimes", utimes(argv[0], NULL));
}

/* trusted.* rather than user.*: tmpfs has those on every kernel of the matrix. */
static int t_setxattr(char **argv)
{
    return judged("setxattr", setxattr(argv[0], "trusted.cgfence", "x", 1, 0));
}

static int t_removexattr(char **argv)
{
    return judged("removexattr", removexattr(argv[0], "trusted.cgfence-test"));
}

/* write PATH and rdwr PATH: open for writing (on an overlay: the copy-up). */
static int t_write(char **argv)
{
    const int fd = open(argv[0], O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return judged("open for writing", -1);
    return judged("write", write(fd, "BYPASS\n", 7) == 7 ? 0 : -1);
}

static int t_rdwr(char **argv)
{
    const int fd = open(argv[0], O_RDWR | O_CLOEXEC);
    return judged("open for reading and writing", fd);
}

/* io_uring, raw: one IORING_OP_OPENAT, inline or forced to an io-wq worker
 * (IOSQE_ASYNC), whose completion carries the open's result. */
struct ring {
    int fd;
    struct io_uring_params params;
    unsigned char *sq, *cq;
    struct io_uring_sqe *sqes;
};

/* Maps the rings of r->fd (set up with r->params). */
static int ring_map(struct ring *r)
{
    const struct io_uring_params *p = &r->params;
    const size_t sq_size = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    const size_t cq_size = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    r->sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                 IORING_OFF_SQ_RING);
    r->cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                 IORING_OFF_CQ_RING);
    r->sqes = mmap(NULL, p->sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (r->sq == MAP_FAILED || r->cq == MAP_FAILED || r->sqes == MAP_FAILED)
        return -2;
    return 0;
}

static int ring_setup(struct ring *r)
{
    memset(r, 0, sizeof *r);
    r->fd = (int)syscall(SYS_io_uring_setup, 4, &r->params);
    if (r->fd < 0)
        return -1;
    return ring_map(r);
}

/* Submits one openat of `path` relative to `dir` (under `personality` when
 * not 0) and waits; the completion's result, or -10000 - errno when
 * io_uring_enter failed. */
static int ring_openat(struct ring *r, int dir, const char *path, uint8_t flags,
                       uint16_t personality)
{
    const struct io_uring_params *p = &r->params;
    unsigned *tail = (unsigned *)(r->sq + p->sq_off.tail);
    const unsigned mask = *(unsigned *)(r->sq + p->sq_off.ring_mask);
    unsigned *array = (unsigned *)(r->sq + p->sq_off.array);
    const unsigned index = *tail & mask;
    struct io_uring_sqe *sqe = &r->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_OPENAT;
    sqe->flags = flags;
    sqe->fd = dir;
    sqe->addr = (uint64_t)(uintptr_t)path;
    sqe->open_flags = O_RDONLY | O_CLOEXEC;
    sqe->personality = personality;
    array[index] = index;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    /* With SQPOLL the kernel thread submits; waking it does no harm otherwise. */
    const unsigned wakeup = p->flags & IORING_SETUP_SQPOLL ? IORING_ENTER_SQ_WAKEUP : 0;
    if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS | wakeup, NULL, 0) < 0)
        return -10000 - errno;
    unsigned *head = (unsigned *)(r->cq + p->cq_off.head);
    const unsigned cq_mask = *(unsigned *)(r->cq + p->cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(r->cq + p->cq_off.cqes);
    const int res = cqes[*head & cq_mask].res;
    __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
    return res;
}

/* The verdict of an OPENAT's completion `res`: the fd is read. */
static int uring_result(const char *step, int res)
{
    if (res < 0) {
        errno = -res;
        return judged(step, -1);
    }
    char byte;
    return judged(step, read(res, &byte, 1) < 0 ? -1 : 0);
}

/* Submits the openat and judges it: the fd is read. */
static int ring_open_verdict(struct ring *r, int dir, const char *path, uint8_t flags,
                             uint16_t personality, const char *step)
{
    const int res = ring_openat(r, dir, path, flags, personality);
    if (res <= -10000) {
        errno = -res - 10000;
        return setup_failed("io_uring_enter");
    }
    return uring_result(step, res);
}

/* A ring with a personality registered (the caller's credentials as they are
 * now). False, with the attempt's verdict in *verdict, when that fails. */
static bool ring_with_personality(struct ring *r, uint16_t *personality, int *verdict)
{
    if (ring_setup(r) != 0) {
        if (errno == ENOSYS || errno == EPERM) {
            printf("not available: io_uring_setup: %s\n", strerror(errno));
            *verdict = UNAVAILABLE;
        } else {
            *verdict = setup_failed("io_uring setup");
        }
        return false;
    }
    const int id = (int)syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_PERSONALITY, NULL, 0);
    if (id < 0) {
        *verdict = setup_failed("IORING_REGISTER_PERSONALITY");
        return false;
    }
    *personality = (uint16_t)id;
    return true;
}

static int uring_openat(const char *path, uint8_t flags, const char *step)
{
    struct ring r;
    const int setup = ring_setup(&r);
    if (setup == -1 && (errno == ENOSYS || errno == EPERM)) {
        printf("not available: io_uring_setup: %s\n", strerror(errno));
        return UNAVAILABLE;
    }
    if (setup != 0)
        return setup_failed("io_uring setup");
    return ring_open_verdict(&r, AT_FDCWD, path, flags, 0, step);
}

static int t_uring_openat(char **argv)
{
    return uring_openat(argv[0], 0, "io_uring IORING_OP_OPENAT");
}

static int t_uring_openat_async(char **argv)
{
    return uring_openat(argv[0], IOSQE_ASYNC, "io_uring IORING_OP_OPENAT with IOSQE_ASYNC");
}

/* --- Leaving the container, and tasks that are not the container's --------
 * The techniques below try to get code of the container running in, or
 * acting through, a task that carries no container mark (a cgroup outside
 * the container, a host process, the runtime's exec helper). Each ends by
 * reaching for what must stay denied: a file and, where the test passes
 * them, cgfence's maps by id. */

/* The first line of /proc/self/cgroup ("0::/path"), newline removed. */
static void own_cgroup(char *line, size_t size)
{
    line[0] = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return;
    if (!fgets(line, (int)size, f))
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\n")] = 0;
}

static int map_fd_by_id(unsigned id)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_id = id;
    return (int)syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof attr);
}

/* Several steps that must each be denied: a bypass when one got through,
 * denied when all were, else the setup failed. */
static int worst(int a, int b)
{
    if (a == BYPASSED || b == BYPASSED)
        return BYPASSED;
    if (a == SETUP_FAILED || b == SETUP_FAILED)
        return SETUP_FAILED;
    return a == UNAVAILABLE || b == UNAVAILABLE ? UNAVAILABLE : DENIED;
}

/* What an escaped task reaches for: FILE read, and an fd of each map id. */
/* An fd of each map id: the worst verdict of them, UNAVAILABLE for none. */
static int open_maps_by_id(int nids, char **ids)
{
    int verdict = UNAVAILABLE;
    for (int i = 0; i < nids; i++) {
        const int fd = map_fd_by_id((unsigned)strtoul(ids[i], NULL, 10));
        char step[64];
        snprintf(step, sizeof step, "bpf_map_get_fd_by_id(%s)", ids[i]);
        const int each = judged(step, fd);
        verdict = verdict == UNAVAILABLE ? each : worst(verdict, each);
        if (fd >= 0)
            close(fd);
    }
    return verdict;
}

static int reach_for(const char *file, int nids, char **ids)
{
    char where[256];
    own_cgroup(where, sizeof where);
    printf("in cgroup %s\n", where);
    const int verdict = open_and_read("open after the move", file);
    return nids > 0 ? worst(verdict, open_maps_by_id(nids, ids)) : verdict;
}

/* map-ids ID...: an fd of each map id (cgfence's global data maps). */
static int t_map_ids(char **argv, int argc)
{
    return open_maps_by_id(argc, argv);
}

/* cgroup2 mounted at MOUNTPOINT in a mount namespace of our own. Without a
 * cgroup namespace its root is the hierarchy's root; with one, the
 * container's own cgroup. */
static int mount_cgroup2(const char *mount_point)
{
    if (private_mount_namespace(0) != 0)
        return -1;
    mkdir(mount_point, 0755);
    return mount("cgroup2", mount_point, "cgroup2", 0, NULL);
}

/* cgroup-root MOUNTPOINT: this process written into cgroup.procs of the
 * mount's root, the hierarchy's root when there is no cgroup namespace. */
static int t_cgroup_root(char **argv)
{
    char procs[4200], where[256];
    if (mount_cgroup2(argv[0]) != 0)
        return setup_failed("mount cgroup2");
    snprintf(procs, sizeof procs, "%s/cgroup.procs", argv[0]);
    const int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return judged("open of the root cgroup's cgroup.procs for writing", -1);
    if (write(fd, "0", 1) != 1)
        return judged("write of our pid to the root cgroup's cgroup.procs", -1);
    close(fd);
    own_cgroup(where, sizeof where);
    printf("now in cgroup %s\n", where);
    return bypassed("the move to the root cgroup");
}

/* moved TARGET SECONDS FILE MAPID...: waits until someone else moved this
 * process into the cgroup TARGET (as /proc/self/cgroup names it, e.g.
 * "0::/"), then reaches for FILE and the maps. */
static int t_moved(char **argv, int argc)
{
    char where[256];
    printf("waiting to be moved to %s\n", argv[0]);
    for (int waited = 0;; waited += 20) {
        own_cgroup(where, sizeof where);
        if (strcmp(where, argv[0]) == 0)
            break;
        if (waited > atoi(argv[1]) * 1000) {
            errno = ETIMEDOUT;
            return setup_failed("wait for the move (still in the container's cgroup)");
        }
        usleep(20000);
    }
    return reach_for(argv[2], argc - 3, argv + 3);
}

/* A child created straight into the cgroup `cgroup_fd` (clone3
 * CLONE_INTO_CGROUP); it reaches for FILE and the maps. */
static int clone_into(int cgroup_fd, const char *file, int nids, char **ids)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    fflush(stdout);
    const long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        return setup_failed("clone3(CLONE_INTO_CGROUP)");
    if (pid == 0) {
        const int verdict = reach_for(file, nids, ids);
        fflush(stdout);
        _exit(verdict);
    }
    int status = 0;
    if (waitpid((pid_t)pid, &status, 0) < 0 || !WIFEXITED(status))
        return setup_failed("wait for the clone3 child");
    return WEXITSTATUS(status);
}

/* clone3-root MOUNTPOINT FILE MAPID...: cgroup2 mounted, a child created in
 * the mount's root cgroup (the hierarchy's root without a cgroup namespace). */
static int t_clone3_root(char **argv, int argc)
{
    if (mount_cgroup2(argv[0]) != 0)
        return setup_failed("mount cgroup2");
    const int root = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return setup_failed("open of the cgroup2 root");
    return clone_into(root, argv[1], argc - 2, argv + 2);
}

/* handle-clone3 MOUNTPOINT CGROUPID FILE MAPID...: cgroup2 mounted (in a
 * cgroup namespace, its root is the container's cgroup), the cgroup
 * CGROUPID (the hierarchy's root: 1) opened by a kernfs file handle, which
 * reaches outside the mount's root (needs CAP_DAC_READ_SEARCH), and a child
 * created in it. */
static int t_handle_clone3(char **argv, int argc)
{
    struct saved_handle h;
    if (mount_cgroup2(argv[0]) != 0)
        return setup_failed("mount cgroup2");
    const int mount_fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0)
        return setup_failed("open of the cgroup2 mount");
    const uint64_t id = strtoull(argv[1], NULL, 10);
    h.handle.handle_bytes = sizeof id;
    h.handle.handle_type = 0xfe; /* FILEID_KERNFS: the handle is the cgroup id */
    memcpy(h.handle.f_handle, &id, sizeof id);
    const int cgroup = open_by_handle_at(mount_fd, &h.handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup < 0)
        return setup_failed("open_by_handle_at of the root cgroup");
    return clone_into(cgroup, argv[2], argc - 3, argv + 3);
}

/* The first process whose comm is `comm` (not this one), waiting up to `ms`; 0 if none. */
static pid_t find_process(const char *comm, int ms)
{
    for (int waited = 0; waited <= ms; waited += 2) {
        DIR *proc = opendir("/proc");
        struct dirent *e;
        while (proc && (e = readdir(proc))) {
            const pid_t pid = (pid_t)atoi(e->d_name);
            char path[64], name[64] = "";
            if (pid <= 0 || pid == getpid())
                continue;
            snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
            const int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            const ssize_t got = read(fd, name, sizeof name - 1);
            close(fd);
            if (got > 0 && strncmp(name, comm, strlen(comm)) == 0 && name[strlen(comm)] == '\n') {
                closedir(proc);
                return pid;
            }
        }
        if (proc)
            closedir(proc);
        usleep(2000);
    }
    return 0;
}

/* A step on another process that must be refused: EPERM or EACCES is the
 * refusal; anything else (success, or an error past the access check, such
 * as EFAULT for a bad address) got through the check. */
static int refused(const char *step, long result)
{
    if (result < 0 && (errno == EPERM || errno == EACCES)) {
        printf("denied: %s: %s\n", step, strerror(errno));
        return DENIED;
    }
    if (result < 0)
        printf("BYPASS: %s passed the access check (then %s)\n", step, strerror(errno));
    else
        printf("BYPASS: %s succeeded\n", step);
    return BYPASSED;
}

static int open_refused(const char *step, const char *path, int flags)
{
    const int fd = open(path, flags | O_CLOEXEC);
    const int verdict = refused(step, fd);
    if (fd >= 0)
        close(fd);
    return verdict;
}

/* Opens `path` and reads from it: refused at the open or at the read (some
 * kernels check at read time), or nothing read, is a refusal. */
static int read_refused(const char *step, const char *path)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return refused(step, fd);
    char buf[256];
    const ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    if (got == 0) {
        printf("denied: %s: opened, nothing read\n", step);
        return DENIED;
    }
    if (got > 0)
        printf("read %zd bytes\n", got);
    return refused(step, got);
}

/* Every way into another process that ptrace_may_access guards, tried on
 * `pid`: its root, cwd, fds, environment, memory, namespaces; pidfd_getfd of
 * its fd `fd` (-1: the first of 0..2 it has); and, with `attach`, ptrace
 * itself (the task stays traced until this process ends). */
static int reach_into(pid_t pid, int fd, bool attach)
{
    char path[128];
    int verdict = DENIED;
#define PROC(what) (snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what), path)
    verdict = worst(verdict,
                    open_refused("open of /proc/PID/root/", PROC("root/"), O_RDONLY | O_DIRECTORY));
    verdict = worst(verdict,
                    open_refused("open of /proc/PID/cwd/", PROC("cwd/"), O_RDONLY | O_DIRECTORY));
    verdict = worst(verdict, read_refused("read of /proc/PID/environ", PROC("environ")));
    verdict = worst(verdict, open_refused("open of /proc/PID/mem", PROC("mem"), O_RDONLY));
    verdict = worst(verdict, open_refused("open of /proc/PID/ns/mnt", PROC("ns/mnt"), O_RDONLY));
    char target[256];
    verdict = worst(verdict, refused("readlink of /proc/PID/fd/0",
                                     readlink(PROC("fd/0"), target, sizeof target)));
#undef PROC
    char byte;
    struct iovec local = {&byte, 1}, remote = {(void *)4096, 1};
    verdict = worst(verdict,
                    refused("process_vm_readv", process_vm_readv(pid, &local, 1, &remote, 1, 0)));
    const int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return worst(verdict, setup_failed("pidfd_open"));
    long got = -1;
    for (int target_fd = fd < 0 ? 0 : fd; target_fd <= (fd < 0 ? 2 : fd); target_fd++) {
        got = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
        if (got >= 0 || errno != EBADF)
            break;
    }
    if (got >= 0 && fd >= 0) {
        char buf[64] = "";
        const ssize_t n = pread((int)got, buf, sizeof buf - 1, 0);
        printf("read through the taken fd: %zd bytes: %s\n", n, n > 0 ? buf : "");
    }
    verdict = worst(verdict, refused("pidfd_getfd", got));
    if (got >= 0)
        close((int)got);
    if (attach)
        verdict =
            worst(verdict, refused("ptrace(PTRACE_SEIZE)", ptrace(PTRACE_SEIZE, pid, NULL, NULL)));
    close(pidfd);
    return verdict;
}

/* The first line of /proc/PID/cgroup, newline removed ("" when gone). */
static void cgroup_of(pid_t pid, char *line, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    line[0] = 0;
    FILE *f = fopen(path, "re");
    if (f && !fgets(line, (int)size, f))
        line[0] = 0;
    if (f)
        fclose(f);
    line[strcspn(line, "\n")] = 0;
}

/* exec-window SECONDS READYFILE: watches for the runtime's exec helper
 * (runc's "runc:[2:INIT]"), which shows in the container's pid namespace
 * while still in runc's cgroup and then joins the container's cgroup, where
 * it stays until it execs the command it was asked for: no mark all along.
 * It is stopped, reached into and let go on twice: as soon as it shows, and
 * once in the container's cgroup (the exec window). READYFILE is created
 * once watching. */
static int t_exec_window(char **argv)
{
    const int ready = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (ready < 0)
        return setup_failed("create the ready file");
    close(ready);
    const pid_t helper = find_process("runc:[2:INIT]", atoi(argv[0]) * 1000);
    if (helper == 0) {
        errno = ETIMEDOUT;
        return setup_failed("find the exec helper");
    }
    char own[256], where[256];
    own_cgroup(own, sizeof own);
    kill(helper, SIGSTOP);
    cgroup_of(helper, where, sizeof where);
    printf("exec helper %d stopped as it showed, in cgroup %s (ours: %s)\n", (int)helper, where,
           own);
    int verdict = DENIED;
    if (strcmp(where, own) != 0) {
        verdict = reach_into(helper, -1, false);
        kill(helper, SIGCONT);
        const time_t deadline = time(NULL) + atoi(argv[0]);
        for (;;) { /* no sleep: the window is short */
            cgroup_of(helper, where, sizeof where);
            if (where[0] == 0 || strcmp(where, own) == 0 || time(NULL) > deadline)
                break;
        }
        if (strcmp(where, own) != 0) {
            errno = ESRCH;
            return worst(verdict, setup_failed("the helper went before it joined our cgroup"));
        }
        kill(helper, SIGSTOP);
        printf("exec helper %d stopped in our cgroup %s\n", (int)helper, where);
    }
    char comm[64] = "", path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)helper);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!read(fd, comm, sizeof comm - 1);
        close(fd);
    }
    if (strncmp(comm, "runc:[2:INIT]", 13) != 0) {
        kill(helper, SIGCONT);
        errno = ESRCH;
        return worst(verdict,
                     setup_failed("the helper had exec'd before it was stopped in our cgroup"));
    }
    verdict = worst(verdict, reach_into(helper, -1, true));
    kill(helper, SIGCONT);
    return verdict;
}

/* host-task PID FD: a host process (the container shares the host's pid
 * namespace) that holds the denied file open on FD: reached into, its FD taken. */
static int t_host_task(char **argv)
{
    return reach_into((pid_t)atoi(argv[0]), atoi(argv[1]), true);
}

/* setns-pidfd PID FILE: the mount namespace of the host task PID joined by a
 * pidfd (setns asks ptrace_may_access of the task), then FILE (a path in that
 * namespace) opened. */
static int t_setns_pidfd(char **argv)
{
    const int pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[0]), 0);
    if (pidfd < 0)
        return setup_failed("pidfd_open");
    if (setns(pidfd, CLONE_NEWNS) != 0)
        return judged("setns(pidfd, CLONE_NEWNS)", -1);
    printf("joined the host task's mount namespace\n");
    return open_and_read("open in the host's mount namespace", argv[1]);
}

/* vfork-open FILE, clone-parent-open FILE, thread-open FILE: the new task
 * (vfork, CLONE_PARENT: a child of our parent, a thread) opens FILE. */
static int child_verdict(pid_t pid)
{
    int status = 0;
    if (pid < 0)
        return setup_failed("create the task");
    if (waitpid(pid, &status, __WALL) < 0 || !WIFEXITED(status))
        return setup_failed("wait for the task");
    return WEXITSTATUS(status);
}

static int t_vfork_open(char **argv)
{
    fflush(stdout);
    const pid_t pid = vfork();
    if (pid == 0)
        _exit(open(argv[0], O_RDONLY) >= 0          ? BYPASSED
              : (errno == EACCES || errno == EPERM) ? DENIED
                                                    : SETUP_FAILED);
    const int verdict = child_verdict(pid);
    printf("%s: open in the vfork child\n", verdict == DENIED     ? "denied"
                                            : verdict == BYPASSED ? "BYPASS"
                                                                  : "failed");
    return verdict;
}

static int t_clone_parent_open(char **argv)
{
    fflush(stdout);
    /* A child of our parent: we cannot wait for it; it reports through a pipe. */
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return setup_failed("pipe");
    const long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid < 0)
        return setup_failed("clone(CLONE_PARENT)");
    if (pid == 0) {
        const unsigned char verdict =
            (unsigned char)open_and_read("open in a CLONE_PARENT child", argv[0]);
        fflush(stdout);
        (void)write(pipe_fds[1], &verdict, 1);
        _exit(0);
    }
    close(pipe_fds[1]);
    unsigned char verdict = SETUP_FAILED;
    if (read(pipe_fds[0], &verdict, 1) != 1)
        return setup_failed("read the child's verdict");
    return verdict;
}

static void *thread_open(void *file)
{
    return (void *)(intptr_t)open_and_read("open in a thread", file);
}

static int t_thread_open(char **argv)
{
    pthread_t thread;
    void *verdict = NULL;
    if (pthread_create(&thread, NULL, thread_open, argv[0]) != 0 ||
        pthread_join(thread, &verdict) != 0)
        return setup_failed("thread");
    return (int)(intptr_t)verdict;
}

/* sqpoll-openat FILE: IORING_OP_OPENAT run by the ring's SQPOLL kernel thread. */
static int t_sqpoll_openat(char **argv)
{
    struct ring r;
    memset(&r, 0, sizeof r);
    r.params.flags = IORING_SETUP_SQPOLL;
    r.params.sq_thread_idle = 1000;
    r.fd = (int)syscall(SYS_io_uring_setup, 4, &r.params);
    if (r.fd < 0 && (errno == ENOSYS || errno == EPERM)) {
        printf("not available: io_uring_setup(SQPOLL): %s\n", strerror(errno));
        return UNAVAILABLE;
    }
    if (r.fd < 0 || ring_map(&r) != 0)
        return setup_failed("io_uring setup with SQPOLL");
    return ring_open_verdict(&r, AT_FDCWD, argv[0], 0, 0, "io_uring OPENAT by the SQPOLL thread");
}

/* uring-personality FILE: OPENAT under a registered personality (the
 * registering task's credentials, kept by the ring). */
static int t_uring_personality(char **argv)
{
    struct ring r;
    uint16_t personality = 0;
    int verdict = SETUP_FAILED;
    if (!ring_with_personality(&r, &personality, &verdict))
        return verdict;
    return ring_open_verdict(&r, AT_FDCWD, argv[0], IOSQE_ASYNC, personality,
                             "io_uring OPENAT under a registered personality");
}

/* layer-personality HANDLE MOUNTDIR NAME: the directory of a saved handle
 * (a layer of the container's overlay rootfs, on MOUNTDIR's filesystem), and
 * NAME in it opened by io_uring under a personality registered before the task
 * changed its own credentials (capset), so that the kernel runs the open with
 * the personality's credentials overriding the task's, as overlayfs runs its
 * work on the layers with its mounter's. */
static int t_layer_personality(char **argv)
{
    struct saved_handle h;
    const int mount_fd = saved_handle_and_mount(argv[0], argv[1], &h);
    if (mount_fd < 0)
        return SETUP_FAILED;
    /* O_PATH: the layer's root itself is denied to anyone but overlayfs. */
    const int layer = open_by_handle_at(mount_fd, &h.handle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (layer < 0)
        return setup_failed("open_by_handle_at of the layer");
    struct ring r;
    uint16_t personality = 0;
    int verdict = SETUP_FAILED;
    if (!ring_with_personality(&r, &personality, &verdict))
        return verdict;
    /* The same capabilities set again: new credentials, the same rights. */
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct caps[2];
    if (syscall(SYS_capget, &header, caps) != 0 || syscall(SYS_capset, &header, caps) != 0)
        return setup_failed("capget, capset");
    return ring_open_verdict(&r, layer, argv[2], 0, personality,
                             "io_uring OPENAT in a layer under a personality");
}

/*
 * Changing a file's attributes without w. The attribute ioctls act on any
 * descriptor of a file; access mode 3 (O_ACCMODE) opens one for ioctls only,
 * with neither read nor write mode. Each sets FS_NODUMP_FL (harmless) and
 * puts the old flags back.
 */
static int set_nodump(int fd, const char *step)
{
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0)
        return setup_failed("FS_IOC_GETFLAGS");
    int changed = flags | FS_NODUMP_FL;
    const int verdict = judged(step, ioctl(fd, FS_IOC_SETFLAGS, &changed));
    if (verdict == BYPASSED)
        (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
    return verdict;
}

/* accmode3-setflags PATH: open(PATH, O_ACCMODE), then FS_IOC_SETFLAGS. */
static int t_accmode3_setflags(char **argv)
{
    const int fd = open(argv[0], O_ACCMODE | O_CLOEXEC);
    if (fd < 0)
        return judged("open with access mode 3", fd);
    return set_nodump(fd, "FS_IOC_SETFLAGS on an access mode 3 descriptor");
}

/* rdonly-setflags PATH: a read-only descriptor (PATH is readable), then FS_IOC_SETFLAGS. */
static int t_rdonly_setflags(char **argv)
{
    const int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open for reading");
    return set_nodump(fd, "FS_IOC_SETFLAGS on a read-only descriptor");
}

/* rdonly-fssetxattr PATH: a read-only descriptor, then FS_IOC_FSSETXATTR. */
static int t_rdonly_fssetxattr(char **argv)
{
    const int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return setup_failed("open for reading");
    struct fsxattr attr;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attr) != 0)
        return setup_failed("FS_IOC_FSGETXATTR");
    struct fsxattr changed = attr;
    changed.fsx_xflags |= FS_XFLAG_NODUMP;
    const int verdict = judged("FS_IOC_FSSETXATTR on a read-only descriptor",
                               ioctl(fd, FS_IOC_FSSETXATTR, &changed));
    if (verdict == BYPASSED)
        (void)ioctl(fd, FS_IOC_FSSETXATTR, &attr);
    return verdict;
}

/*
 * file-setattr PATH: file_setattr(2) (6.17 and later), by path, no open at
 * all. Where the kernel lacks it: 77, and the test expects that of both.
 */
#ifndef __NR_file_setattr
#define __NR_file_setattr 469
#define __NR_file_getattr 468
#endif
struct file_attr_v0 { /* struct file_attr, FILE_ATTR_SIZE_VER0 */
    uint64_t fa_xflags;
    uint32_t fa_extsize;
    uint32_t fa_nextents;
    uint32_t fa_projid;
    uint32_t fa_cowextsize;
};
static int t_file_setattr(char **argv)
{
    struct file_attr_v0 attr = {0};
    if (syscall(__NR_file_getattr, AT_FDCWD, argv[0], &attr, sizeof attr, 0) != 0) {
        if (errno == ENOSYS) {
            printf("file_getattr: not in this kernel\n");
            return UNAVAILABLE;
        }
        return setup_failed("file_getattr");
    }
    struct file_attr_v0 changed = attr;
    changed.fa_xflags |= FS_XFLAG_NODUMP;
    const int verdict = judged("file_setattr", (int)syscall(__NR_file_setattr, AT_FDCWD, argv[0],
                                                            &changed, sizeof changed, 0));
    if (verdict == BYPASSED)
        (void)syscall(__NR_file_setattr, AT_FDCWD, argv[0], &attr, sizeof attr, 0);
    return verdict;
}

/*
 * helper-write KIND: a file naming a program the kernel runs as the host's
 * root (a core dump's pipe, modprobe, poweroff, hotplug, a cgroup v1
 * release_agent, a binfmt_misc interpreter) or making the kernel do ours (a
 * module parameter: firmware_class's firmware path; tracefs's kprobe_events,
 * to which an empty line is written; debugfs's clear_warn_once, which only
 * lets warnings be printed once more), in a filesystem mounted fresh
 * in a mount namespace of our own, opened for writing; what it held is
 * written back, so that the kernel's settings stay as they were.
 */
struct helper {
    const char *kind, *fstype, *source, *options, *file, *rewrite;
};
static const struct helper kHelpers[] = {
    {"core_pattern", "proc", "proc", NULL, "sys/kernel/core_pattern", NULL},
    {"modprobe", "proc", "proc", NULL, "sys/kernel/modprobe", NULL},
    {"poweroff_cmd", "proc", "proc", NULL, "sys/kernel/poweroff_cmd", NULL},
    {"uevent_helper", "sysfs", "sysfs", NULL, "kernel/uevent_helper", NULL},
    {"release_agent", "cgroup", "none", "none,name=cgfence-probe", "release_agent", NULL},
    {"binfmt_misc", "binfmt_misc", "binfmt_misc", NULL, "status", "1"},
    {"firmware_path", "sysfs", "sysfs", NULL, "module/firmware_class/parameters/path", NULL},
    {"kprobe_events", "tracefs", "nodev", NULL, "kprobe_events", "\n"},
    {"debugfs", "debugfs", "debugfs", NULL, "clear_warn_once", "1"},
};

static int t_helper_write(char **argv)
{
    const struct helper *h = NULL;
    for (size_t i = 0; i < sizeof kHelpers / sizeof kHelpers[0]; i++)
        if (strcmp(argv[0], kHelpers[i].kind) == 0)
            h = &kHelpers[i];
    if (!h)
        return setup_failed("an unknown helper");
    const char *mount_point = "/tmp/helper-fs";
    if (private_mount_namespace(0) != 0)
        return setup_failed("a mount namespace of our own");
    mkdir(mount_point, 0755);
    if (mount(h->source, mount_point, h->fstype, 0, h->options) != 0)
        return setup_failed("mount");
    char path[512], held[4096] = "";
    snprintf(path, sizeof path, "%s/%s", mount_point, h->file);
    ssize_t got = 0;
    if (!h->rewrite) { /* what it held, to write back */
        const int reader = open(path, O_RDONLY | O_CLOEXEC);
        if (reader < 0)
            return setup_failed("open for reading");
        got = read(reader, held, sizeof held - 1);
        close(reader);
        if (got < 0)
            return setup_failed("read");
    }
    held[got] = 0;
    const char *text = h->rewrite ? h->rewrite : got > 0 ? held : "\n";
    const int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return judged("open for writing", fd);
    const ssize_t wrote = write(fd, text, strlen(text));
    close(fd);
    return judged("write", wrote < 0 ? -1 : 0);
}

/* An overlay of our own (CAP_SYS_ADMIN) in a mount namespace of our own,
 * `lower` as its lower layer, upper and work on a new tmpfs; the path of
 * `file` (a path below `lower`) through it in `path`. */
static int own_overlay(const char *lower, const char *file, char *path, size_t size)
{
    const char *base = "/tmp/bypass-ovl";
    static const char *const dirs[] = {"upper", "work", "merged"};
    char options[4096], dir[256];
    if (private_mount_namespace(0) != 0)
        return setup_failed("unshare(CLONE_NEWNS)");
    mkdir(base, 0755);
    if (mount("tmpfs", base, "tmpfs", 0, NULL) != 0)
        return setup_failed("mount tmpfs");
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/%s", base, dirs[i]);
        if (mkdir(dir, 0755) != 0)
            return setup_failed("mkdir");
    }
    snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, base,
             base);
    snprintf(dir, sizeof dir, "%s/merged", base);
    if (mount("overlay", dir, "overlay", 0, options) != 0)
        return setup_failed("mount overlay");
    snprintf(path, size, "%s/%s", dir, file);
    return 0;
}

/* overlay-open LOWER FILE: FILE read through an overlay of our own:
 * overlayfs opens the lower file itself. */
static int t_overlay_open(char **argv)
{
    char path[4096];
    const int setup = own_overlay(argv[0], argv[1], path, sizeof path);
    return setup != 0 ? setup : open_and_read("open through an overlay of our own", path);
}

/* overlay-mmap-exec LOWER FILE: FILE (readable, not executable) mapped
 * PROT_EXEC through an overlay of our own: overlayfs maps the lower file. */
static int t_overlay_mmap_exec(char **argv)
{
    char path[4096];
    const int setup = own_overlay(argv[0], argv[1], path, sizeof path);
    if (setup != 0)
        return setup;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return judged("open through an overlay of our own", -1);
    void *map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    return judged("mmap PROT_EXEC through an overlay of our own", map == MAP_FAILED ? -1 : 0);
}

/* bpf-read-kernel: a BPF program of the container's own (CAP_SYS_ADMIN
 * passes for CAP_BPF and CAP_PERFMON), attached to the raw tracepoint
 * sys_enter, which runs in every task's context, the host's included, and
 * reads kernel memory with bpf_probe_read_kernel: the orig_ax field of the
 * kernel's pt_regs of the syscall, checked against the syscall number the
 * tracepoint gives. Kernel memory (the page cache of every file) is then
 * open to it, whatever cgfence decides about files. */
static int bpf_call(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

#define INSN(c, d, s_, o, i)                                                                       \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i)})

static int t_bpf_read_kernel(char **argv)
{
    (void)argv;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 1;
    const int map = bpf_call(BPF_MAP_CREATE, &attr);
    if (map < 0)
        return judged("BPF_MAP_CREATE", -1);
    const int orig_ax = 15 * 8; /* offsetof(struct pt_regs, orig_ax), x86_64 uapi */
    const struct bpf_insn prog[] = {
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),       /* r6 = ctx */
        INSN(BPF_LDX | BPF_MEM | BPF_DW, 3, 6, 0, 0),        /* r3 = args[0]: pt_regs * */
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, orig_ax), /* r3 = &regs->orig_ax */
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0),      /* r1 = fp */
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8),      /* r1 = fp - 8 */
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8),       /* r2 = 8 */
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_probe_read_kernel),
        INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 14, 0),          /* failed: exit */
        INSN(BPF_LDX | BPF_MEM | BPF_DW, 7, 10, -8, 0),        /* r7 = orig_ax read */
        INSN(BPF_LDX | BPF_MEM | BPF_DW, 8, 6, 8, 0),          /* r8 = args[1]: syscall nr */
        INSN(BPF_JMP | BPF_JNE | BPF_X, 7, 8, 11, 0),          /* not it: exit */
        INSN(BPF_ALU64 | BPF_OR | BPF_K, 7, 0, 0, 0x40000000), /* mark: read and matched */
        INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 7, -24, 0),       /* value at fp - 24 */
        INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -12, 0),         /* key 0 at fp - 12 */
        INSN(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map),
        INSN(0, 0, 0, 0, 0),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -12),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -24),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    static char log[65536];
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = sizeof prog / sizeof prog[0];
    attr.license = (uint64_t)(uintptr_t) "GPL";
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = sizeof log;
    attr.log_level = 1;
    const int fd = bpf_call(BPF_PROG_LOAD, &attr);
    if (fd < 0) {
        const int saved = errno;
        printf("verifier: %.300s\n", log);
        errno = saved;
        return judged("BPF_PROG_LOAD of a raw tracepoint program", -1);
    }
    memset(&attr, 0, sizeof attr);
    attr.raw_tracepoint.name = (uint64_t)(uintptr_t) "sys_enter";
    attr.raw_tracepoint.prog_fd = (uint32_t)fd;
    const int link = bpf_call(BPF_RAW_TRACEPOINT_OPEN, &attr);
    if (link < 0)
        return judged("BPF_RAW_TRACEPOINT_OPEN sys_enter", -1);
    usleep(100000); /* syscalls happen, ours and everyone's */
    uint32_t key = 0;
    uint64_t value = 0;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)map;
    attr.key = (uint64_t)(uintptr_t)&key;
    attr.value = (uint64_t)(uintptr_t)&value;
    if (bpf_call(BPF_MAP_LOOKUP_ELEM, &attr) != 0)
        return setup_failed("read of the program's map");
    close(link);
    if (!(value & 0x40000000)) {
        errno = ENODATA;
        return setup_failed("the program read nothing");
    }
    printf("kernel memory read: orig_ax %llu\n", (unsigned long long)(value & 0xffff));
    return bypassed("bpf_probe_read_kernel from a program of the container's own");
}

/* bpf-detach-devices: the runtime's device filter on the container's own
 * cgroup (the root of a cgroup2 mounted in its cgroup namespace), found by a
 * query, opened by id and detached; without it the container could make and
 * open a node of the host's disk. Attached again at once, so that the scene
 * keeps it. */
static int t_bpf_detach_devices(char **argv)
{
    (void)argv;
    const char *mount_point = "/tmp/bpf-cgroup";
    if (mount_cgroup2(mount_point) != 0)
        return setup_failed("mount cgroup2");
    const int cgroup = open(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup < 0)
        return setup_failed("open of the cgroup");
    uint32_t ids[8];
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = 8;
    if (bpf_call(BPF_PROG_QUERY, &attr) != 0)
        return judged("BPF_PROG_QUERY of the cgroup's device programs", -1);
    const uint32_t flags = attr.query.attach_flags;
    if (attr.query.prog_cnt == 0) {
        errno = ENOENT;
        return setup_failed("a device program on the cgroup");
    }
    memset(&attr, 0, sizeof attr);
    attr.prog_id = ids[0];
    const int prog = bpf_call(BPF_PROG_GET_FD_BY_ID, &attr);
    if (prog < 0)
        return judged("BPF_PROG_GET_FD_BY_ID", -1);
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf_call(BPF_PROG_DETACH, &attr) != 0)
        return judged("BPF_PROG_DETACH", -1);
    attr.attach_flags = flags;
    if (bpf_call(BPF_PROG_ATTACH, &attr) != 0)
        printf("warning: the device filter could not be attached again: %s\n", strerror(errno));
    return bypassed("BPF_PROG_DETACH of the container's device filter");
}

struct technique {
    const char *name;
    int args;
    int (*run)(char **argv);
};

/* Techniques that take `args` arguments and then any number of map ids. */
struct technique_with_ids {
    const char *name;
    int args;
    int (*run)(char **argv, int argc);
};

static const struct technique kTechniques[] = {
    {"open", 1, t_open},
    {"first-exec", 1, t_open},
    {"hardlink", 2, t_hardlink},
    {"symlink", 3, t_symlink},
    {"proc-fd", 1, t_proc_fd},
    {"proc-root", 1, t_proc_root},
    {"handle", 1, t_handle},
    {"handle-save", 2, t_handle_save},
    {"handle-open", 2, t_handle_open},
    {"layer-personality", 3, t_layer_personality},
    {"opath-link", 2, t_opath_link},
    {"bind", 3, t_bind},
    {"move", 3, t_move},
    {"rename", 3, t_rename},
    {"move-away", 3, t_move_away},
    {"bind-over", 1, t_bind_over},
    {"umount-open", 1, t_umount_open},
    {"rename-over", 2, t_rename_over},
    {"unshare-mnt", 1, t_unshare_mnt},
    {"unshare-user", 1, t_unshare_user},
    {"userns-bind", 3, t_userns_bind},
    {"cgroup-child", 2, t_cgroup_child},
    {"memfd-exec", 1, t_memfd_exec},
    {"exec", 1, t_exec},
    {"opath-exec", 1, t_opath_exec},
    {"mmap-exec", 1, t_mmap_exec},
    {"mprotect-exec", 1, t_mprotect_exec},
    {"truncate", 1, t_truncate},
    {"chmod", 1, t_chmod},
    {"utimes", 1, t_utimes},
    {"setxattr", 1, t_setxattr},
    {"removexattr", 1, t_removexattr},
    {"write", 1, t_write},
    {"rdwr", 1, t_rdwr},
    {"uring-openat", 1, t_uring_openat},
    {"uring-openat-async", 1, t_uring_openat_async},
    {"cgroup-root", 1, t_cgroup_root},
    {"exec-window", 2, t_exec_window},
    {"host-task", 2, t_host_task},
    {"setns-pidfd", 2, t_setns_pidfd},
    {"vfork-open", 1, t_vfork_open},
    {"clone-parent-open", 1, t_clone_parent_open},
    {"thread-open", 1, t_thread_open},
    {"sqpoll-openat", 1, t_sqpoll_openat},
    {"uring-personality", 1, t_uring_personality},
    {"accmode3-setflags", 1, t_accmode3_setflags},
    {"rdonly-setflags", 1, t_rdonly_setflags},
    {"rdonly-fssetxattr", 1, t_rdonly_fssetxattr},
    {"file-setattr", 1, t_file_setattr},
    {"helper-write", 1, t_helper_write},
    {"overlay-open", 2, t_overlay_open},
    {"overlay-mmap-exec", 2, t_overlay_mmap_exec},
    {"bpf-read-kernel", 0, t_bpf_read_kernel},
    {"bpf-detach-devices", 0, t_bpf_detach_devices},
};

static const struct technique_with_ids kTechniquesWithIds[] = {
    {"moved", 3, t_moved},
    {"clone3-root", 2, t_clone3_root},
    {"handle-clone3", 3, t_handle_clone3},
    {"map-ids", 1, t_map_ids},
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line each, before an exec replaces us */
    for (size_t i = 0; argc >= 2 && i < sizeof kTechniques / sizeof kTechniques[0]; i++) {
        const struct technique *t = &kTechniques[i];
        if (strcmp(argv[1], t->name) == 0 && argc == t->args + 2)
            return t->run(argv + 2);
    }
    for (size_t i = 0; argc >= 2 && i < sizeof kTechniquesWithIds / sizeof kTechniquesWithIds[0];
         i++) {
        const struct technique_with_ids *t = &kTechniquesWithIds[i];
        if (strcmp(argv[1], t->name) == 0 && argc >= t->args + 2)
            return t->run(argv + 2, argc - 2);
    }
    fprintf(stderr, "usage: bypass-probe TECHNIQUE ARG... (see the source)\n");
    return 64;
}
