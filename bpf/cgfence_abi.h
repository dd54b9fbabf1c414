/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The ABI shared by the BPF program and userspace: map keys and values, access
 * bits, the event record. Fixed-width fields only; userspace static_asserts the
 * layout (bpf/abi.hpp). Bump CGFENCE_ABI_VERSION whenever a struct or a
 * map definition changes: `cgfencectl load` refuses to reuse pinned maps of
 * another ABI version.
 */
#ifndef CGFENCE_ABI_H
#define CGFENCE_ABI_H

#ifdef __BPF__
typedef __u8 cgf_u8;
typedef __u16 cgf_u16;
typedef __u32 cgf_u32;
typedef __u64 cgf_u64;
#else
#include <stdint.h>
typedef uint8_t cgf_u8;
typedef uint16_t cgf_u16;
typedef uint32_t cgf_u32;
typedef uint64_t cgf_u64;
#endif

#define CGFENCE_ABI_VERSION 4

/* Capacities. The policies outer map holds one inner map per container. */
#define CGFENCE_MAX_CONTAINERS 4096
#define CGFENCE_MAX_RULES_PER_CONTAINER 65536
#define CGFENCE_EVENTS_RINGBUF_BYTES (1U << 20)
/*
 * Learn mode's memory: distinct accesses of all learning containers together,
 * and of one container. Past its bound a container's new accesses are counted
 * (learn_dropped), not remembered: the profile learned from it is then
 * narrower than the workload (fails closed), and `profile learn` says so.
 */
#define CGFENCE_MAX_LEARNED 65536
#define CGFENCE_MAX_LEARNED_PER_CONTAINER 8192
/*
 * Where task storage cannot hold the tasks' marks (cgfence_task_mark), a hash
 * keyed by task holds them: at most this many confined tasks (threads) at
 * once. A confined task whose child's mark finds no room cannot fork (ENOMEM).
 */
#define CGFENCE_MAX_MARKED_TASKS 262144

#define CGFENCE_COMM_LEN 16
#define CGFENCE_NAME_LEN 64

/*
 * Bounds of the kernel's walks (see README "Walk bounds"):
 * - cgroup levels: a container may be registered at cgroup level 1 to
 *   CGFENCE_MAX_CGROUP_LEVEL; the hook refuses deeper ones. At an exec of a
 *   task not yet marked, the program checks every ancestor level of the
 *   task's cgroup from 1 up to that bound, so a task execing in any
 *   descendant cgroup (at any depth) is marked the container's.
 * - a confined task's cgroup.procs write: its container's subtree is looked
 *   for at most CGFENCE_MAX_WALK_DEPTH levels above the target cgroup;
 *   deeper counts as outside (refused).
 * - dentry levels: at most CGFENCE_MAX_WALK_DEPTH dentries from the object
 *   towards its root. A walk that ends early (too deep, or a disconnected
 *   dentry) gets the container's `deep_access`, which the writer sets to the
 *   intersection of the default and every rule: never more than any rule on the
 *   way could have granted.
 */
#define CGFENCE_MAX_CGROUP_LEVEL 32
#define CGFENCE_MAX_WALK_DEPTH 64

/* Access bits, as in profiles: r, w, x. */
#define CGFENCE_ACCESS_READ 0x1
#define CGFENCE_ACCESS_WRITE 0x2
#define CGFENCE_ACCESS_EXEC 0x4
#define CGFENCE_ACCESS_ALL 0x7

/* Kinds of policy keys inside one container's inner map. */
enum cgfence_key_kind {
    CGFENCE_KEY_SETTINGS = 0, /* dev = 0, ino = 0: the container's settings */
    CGFENCE_KEY_INODE = 1,    /* dev = kernel s_dev, ino = i_ino */
    CGFENCE_KEY_FSTYPE = 2,   /* dev = 0, ino = superblock magic */
    /*
     * dev, ino: a directory on the way from a restrictive rule's object up to
     * its mount's root. A confined task may not rename it: the object would
     * leave the path the rule names, and a restart or `apply` would resolve
     * the rule onto whatever was put there. Not a rule; walks never read it.
     */
    CGFENCE_KEY_RULE_HOLDER = 3,
};

struct cgfence_policy_key {
    cgf_u32 kind;
    cgf_u32 dev;
    cgf_u64 ino;
};

/* Flags of an inode rule. */
enum cgfence_rule_flags {
    /* Applies to the directory itself only, not to what lies below it. */
    CGFENCE_RULE_NONRECURSIVE = 0x1,
    /*
     * The root of a mount in the container's view with no path rule of its own:
     * the walk stops here as it would at a filesystem root (then filesystem-type
     * rule, then default). Bounds every walk at the container's mounts.
     */
    CGFENCE_RULE_MOUNT_BOUNDARY = 0x2,
    /*
     * The root of an overlay layer (lower, upper or work directory) of the
     * container's root filesystem. overlayfs does its own work on layer inodes
     * under its mounter's credentials after the user-visible overlay object
     * was judged; that work is allowed: the program knows those credentials
     * as the overlay's (learned when the overlay's files are opened) and the
     * overlay as one the policy names (a rule on its root). Anything else
     * reaching a layer inode, whatever credentials it holds, gets `access`
     * (normally none).
     */
    CGFENCE_RULE_OVERLAY_LAYER = 0x4,
};

enum cgfence_mode {
    CGFENCE_MODE_ENFORCE = 0,
    CGFENCE_MODE_AUDIT = 1,
    CGFENCE_MODE_LEARN = 2,
};

/* Flags of a container's settings. */
enum cgfence_settings_flags {
    CGFENCE_SETTINGS_HAS_FSTYPE_RULES = 0x1,
};

struct cgfence_rule {
    cgf_u8 access; /* CGFENCE_ACCESS_* */
    cgf_u8 flags;  /* CGFENCE_RULE_* */
    cgf_u16 reserved0;
    /*
     * CGFENCE_RULE_OVERLAY_LAYER: the kernel dev of the overlay (the
     * container's rootfs) whose layer this is: only that overlay's own work
     * passes. 0: written by a version without it, for which any overlay the
     * policy names (a rule on its root) passes.
     */
    cgf_u32 overlay_dev;
    /*
     * Which profile path named the object (a hash of the path; 0: none, or
     * written by a version without it). Not read by the program: `apply`
     * uses it to keep a rule on the object it named when that object left its
     * path (renamed, covered by a mount) while the policy was in force.
     */
    cgf_u64 path_id;
};

struct cgfence_settings {
    cgf_u8 mode;           /* CGFENCE_MODE_* */
    cgf_u8 default_access; /* what no rule covers */
    cgf_u8 deep_access;    /* what an unfinished walk gets */
    cgf_u8 reserved;
    cgf_u32 flags;          /* CGFENCE_SETTINGS_* */
    cgf_u32 events_per_sec; /* rate limit of this container's records */
    cgf_u32 events_burst;
};

/* The value of every key in a container's inner map. */
union cgfence_policy_value {
    struct cgfence_rule rule;
    struct cgfence_settings settings;
};

/* Per-container counters (per CPU), keyed by the container's cgroup id. */
struct cgfence_counters {
    cgf_u64 decisions; /* checks made for this container's processes */
    cgf_u64 denied;    /* denials returned (enforce mode) */
    cgf_u64 audited;   /* would-be denials allowed (audit, learn modes) */
    cgf_u64 events_sent;
    cgf_u64 events_dropped; /* rate-limited or ring buffer full */
    cgf_u64 learn_dropped;  /* learn mode: accesses past the container's bound */
};

/*
 * What the program keeps of each container, keyed by cgroup id (key 0: the
 * orphans, tasks whose container's policy is gone): its event rate limiter
 * (token bucket), what learn mode remembered, when its first task armed, and
 * where its tasks arm. The hook writes it at set-up; `apply` keeps it.
 */
struct cgfence_container_state {
    cgf_u64 tokens;    /* events left, in thousandths */
    cgf_u64 refill_ns; /* bpf_ktime_get_ns() of the last refill */
    cgf_u64 learned;   /* the container's entries in `learned` (learn mode) */
    cgf_u64 armed_ns;  /* bpf_ktime_get_ns() of its first exec; 0: none yet */
    /*
     * The container's mount namespace (its nsfs inode number): a task in the
     * container's cgroup becomes the container's only by an exec in it, so a
     * host task moved into the cgroup, or a runtime's helper that execs
     * itself there before it joins the container, stays what it was. 0: any.
     */
    cgf_u64 view_mnt_ns;
};

/*
 * How a task came into its container: as the container's own (its first
 * exec, and everything that descends from it), by a later exec from outside
 * (`runc exec`, `crun exec`, `podman exec`, healthchecks) and what descends
 * from that, or running already when cgfence was loaded. NONE: no mark (a
 * runtime's task in the container's cgroup before its exec).
 */
enum cgfence_origin {
    CGFENCE_ORIGIN_NONE = 0,
    CGFENCE_ORIGIN_INIT = 1,
    CGFENCE_ORIGIN_EXEC = 2,
    CGFENCE_ORIGIN_LOAD = 3,
};

enum cgfence_mark_flags {
    /*
     * Marked at the exec's check, before the exec's point of no return: the
     * task is judged as the container's from then on, but the container's
     * other tasks reach into it (ptrace, /proc/PID) only once the new program
     * replaced the runtime's memory and close-on-exec files.
     */
    CGFENCE_MARK_PENDING = 0x1,
};

/*
 * The mark of a confined task: the container it belongs to, from its first
 * exec inside that container's cgroup (or a descendant) on, whatever cgroup
 * or namespace it moves to later; every task it creates inherits it. Kept in
 * task storage, or where the kernel's task storage cannot serve LSM programs
 * reliably (before 6.2), in a hash keyed by the task's address that the
 * program fills at fork and empties when the task is freed.
 */
struct cgfence_task_mark {
    cgf_u64 container; /* registered cgroup id of the task's container */
    cgf_u8 origin;     /* CGFENCE_ORIGIN_* */
    cgf_u8 flags;      /* CGFENCE_MARK_* */
    cgf_u8 reserved[6];
};

/*
 * Learn mode: one distinct access a default-deny reading of the container's
 * profile would have denied. Keyed by (container, object, rights wanted), so
 * each is added once with BPF_NOEXIST and nothing is read, changed and
 * written back. Names become paths when `profile learn` reads them, not here.
 */
struct cgfence_learned_key {
    cgf_u64 container; /* registered cgroup id */
    cgf_u64 ino;
    cgf_u32 dev;   /* kernel encoding */
    cgf_u8 wanted; /* CGFENCE_ACCESS_* */
    cgf_u8 reserved[3];
};

struct cgfence_learned {
    cgf_u64 parent_ino; /* same dev; finds where a file that is gone was made */
    cgf_u64 fs_magic;   /* superblock magic: pseudo filesystems get fs rules */
    cgf_u8 hook;        /* CGFENCE_HOOK_* of the first such access */
    cgf_u8 is_dir;
    cgf_u8 reserved[6];
    char name[CGFENCE_NAME_LEN]; /* last path component, for what cannot be found */
};

/* Which LSM hook made a decision. */
enum cgfence_hook_id {
    CGFENCE_HOOK_FILE_OPEN = 1,
    CGFENCE_HOOK_BPRM_CHECK = 2,
    CGFENCE_HOOK_MMAP_FILE = 3,
    CGFENCE_HOOK_FILE_MPROTECT = 4,
    CGFENCE_HOOK_INODE_CREATE = 5,
    CGFENCE_HOOK_INODE_MKNOD = 6,
    CGFENCE_HOOK_INODE_MKDIR = 7,
    CGFENCE_HOOK_INODE_UNLINK = 8,
    CGFENCE_HOOK_INODE_RMDIR = 9,
    CGFENCE_HOOK_INODE_RENAME = 10,
    CGFENCE_HOOK_INODE_LINK = 11,
    CGFENCE_HOOK_INODE_SYMLINK = 12,
    CGFENCE_HOOK_INODE_SETATTR = 13,
    CGFENCE_HOOK_INODE_SETXATTR = 14,
    CGFENCE_HOOK_INODE_REMOVEXATTR = 15,
    CGFENCE_HOOK_INODE_SET_ACL = 16,
    CGFENCE_HOOK_INODE_REMOVE_ACL = 17,
    CGFENCE_HOOK_BPF = 18,                /* a bpf() command that reaches others' objects */
    CGFENCE_HOOK_BPF_MAP = 19,            /* an fd to one of cgfence's maps */
    CGFENCE_HOOK_BPF_PROG = 20,           /* an fd to one of cgfence's programs */
    CGFENCE_HOOK_PTRACE = 21,             /* ptrace, /proc/PID/mem, process_vm_*, pidfd_getfd ... */
    CGFENCE_HOOK_TRACEME = 22,            /* PTRACE_TRACEME towards a confined parent */
    CGFENCE_HOOK_FILE_RECEIVE = 23,       /* an fd passed to a task in the exec window */
    CGFENCE_HOOK_TASK_ALLOC = 24,         /* a fork whose child's mark could not be kept */
    CGFENCE_HOOK_FILE_IOCTL = 25,         /* an ioctl that changes a file's attributes */
    CGFENCE_HOOK_INODE_FILE_SETATTR = 26, /* file_setattr(2), 6.17 and later */
};

enum cgfence_verdict {
    CGFENCE_VERDICT_DENIED = 1,  /* enforce: EACCES returned */
    CGFENCE_VERDICT_AUDITED = 2, /* audit/learn: allowed, reported */
};

/* One record in the events ring buffer. */
struct cgfence_event {
    cgf_u64 time_ns;   /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    cgf_u64 container; /* registered cgroup id of the container */
    cgf_u64 cgroup;    /* the task's own cgroup id */
    cgf_u64 ino;       /* object judged */
    cgf_u32 dev;       /* kernel encoding */
    cgf_u32 pid;       /* thread group id */
    cgf_u32 tid;
    cgf_u8 wanted;  /* CGFENCE_ACCESS_* asked for */
    cgf_u8 granted; /* CGFENCE_ACCESS_* the policy gives */
    cgf_u8 hook;    /* CGFENCE_HOOK_* */
    cgf_u8 verdict; /* CGFENCE_VERDICT_* */
    cgf_u8 mode;    /* CGFENCE_MODE_* */
    cgf_u8 origin;  /* CGFENCE_ORIGIN_* of the task */
    cgf_u8 reserved[6];
    char comm[CGFENCE_COMM_LEN];
    char name[CGFENCE_NAME_LEN]; /* the object's last path component */
};

/*
 * What the hook keeps of a registered container, for poststop, `ps` and
 * `events`; no files on disk. Keyed by a 64-bit hash of (id, bundle): two
 * runtimes' containers with the same id differ by bundle. The writer checks
 * id and bundle on every lookup and probes the next key on a collision.
 */
#define CGFENCE_ID_LEN 128
#define CGFENCE_BUNDLE_LEN 256
#define CGFENCE_PROFILE_LEN 64

struct cgfence_record {
    cgf_u64 cgroup;     /* registered cgroup id: the policies key */
    cgf_u64 created_ns; /* CLOCK_REALTIME */
    cgf_u64 updated_ns; /* CLOCK_REALTIME of the last policy change */
    cgf_u32 rule_count;
    cgf_u8 mode; /* CGFENCE_MODE_* */
    cgf_u8 reserved[3];
    char id[CGFENCE_ID_LEN];
    char bundle[CGFENCE_BUNDLE_LEN];
    char profile[CGFENCE_PROFILE_LEN];
    /*
     * The container's view at set-up: its mount namespace (nsfs inode) and
     * root directory (st_dev, st_ino). `apply` and `profile learn` resolve
     * paths only through a process that still has exactly this view, so no
     * process of the container (chrooted, in a namespace of its own) can
     * choose where they look.
     */
    cgf_u64 view_mnt_ns;
    cgf_u64 view_root_dev;
    cgf_u64 view_root_ino;
};

/* The single entry of the meta map: what build owns the pins. */
struct cgfence_meta {
    cgf_u32 abi_version;
    cgf_u32 reserved;
    cgf_u64 build_id;     /* hash of the BPF object that was loaded */
    cgf_u64 loaded_at_ns; /* CLOCK_REALTIME */
    cgf_u64 flags;        /* CGFENCE_META_* */
    /*
     * The pin directory (kernel dev of its bpffs, inode number), so that the
     * program keeps confined tasks from unpinning cgfence: an unpinned link is
     * a detached program.
     */
    cgf_u64 pin_dev;
    cgf_u64 pin_root;
};

enum cgfence_meta_flags {
    CGFENCE_META_MAPS_ONLY = 0x1, /* pinned by `load --maps-only` */
};

#endif /* CGFENCE_ABI_H */
