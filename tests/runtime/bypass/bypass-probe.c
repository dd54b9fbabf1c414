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
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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

/* handle-open FILE MOUNTDIR: open_by_handle_at of a saved handle, with a
 * descriptor of MOUNTDIR (a directory of the file's filesystem). When the
 * file's dentry is not cached, the kernel makes a disconnected one: no path
 * leads from it to the root. */
static int t_handle_open(char **argv)
{
    struct saved_handle h;
    const int in = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (in < 0 || read(in, &h, sizeof h) < (ssize_t)sizeof h.handle)
        return setup_failed("read of the saved handle");
    const int mount_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0)
        return setup_failed("open of the mount directory");
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

static int ring_setup(struct ring *r)
{
    memset(r, 0, sizeof *r);
    r->fd = (int)syscall(SYS_io_uring_setup, 4, &r->params);
    if (r->fd < 0)
        return -1;
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

/* Submits one openat of `path` and waits; the completion's result. */
static int ring_openat(struct ring *r, const char *path, uint8_t flags)
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
    sqe->fd = AT_FDCWD;
    sqe->addr = (uint64_t)(uintptr_t)path;
    sqe->open_flags = O_RDONLY | O_CLOEXEC;
    array[index] = index;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
        return -10000 - errno;
    unsigned *head = (unsigned *)(r->cq + p->cq_off.head);
    const unsigned cq_mask = *(unsigned *)(r->cq + p->cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(r->cq + p->cq_off.cqes);
    const int res = cqes[*head & cq_mask].res;
    __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
    return res;
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
    const int res = ring_openat(&r, path, flags);
    if (res <= -10000) {
        errno = -res - 10000;
        return setup_failed("io_uring_enter");
    }
    if (res < 0) {
        errno = -res;
        return judged(step, -1);
    }
    char byte;
    return judged(step, read(res, &byte, 1) < 0 ? -1 : 0);
}

static int t_uring_openat(char **argv)
{
    return uring_openat(argv[0], 0, "io_uring IORING_OP_OPENAT");
}

static int t_uring_openat_async(char **argv)
{
    return uring_openat(argv[0], IOSQE_ASYNC, "io_uring IORING_OP_OPENAT with IOSQE_ASYNC");
}

struct technique {
    const char *name;
    int args;
    int (*run)(char **argv);
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
    {"opath-link", 2, t_opath_link},
    {"bind", 3, t_bind},
    {"move", 3, t_move},
    {"rename", 3, t_rename},
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
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* one line each, before an exec replaces us */
    for (size_t i = 0; argc >= 2 && i < sizeof kTechniques / sizeof kTechniques[0]; i++) {
        const struct technique *t = &kTechniques[i];
        if (strcmp(argv[1], t->name) == 0 && argc == t->args + 2)
            return t->run(argv + 2);
    }
    fprintf(stderr, "usage: bypass-probe TECHNIQUE ARG... (see the source)\n");
    return 64;
}
