// SPDX-License-Identifier: GPL-2.0
/*
 * cgfence: per-container file access policy, enforced with BPF LSM.
 *
 * A container is a registered cgroup v2 id in `policies`; its value is the
 * container's own inner map: its settings and its rules keyed by (dev, ino) or
 * by filesystem magic. A task is confined when it carries a container's mark
 * (`marks`): it gets one at its first exec inside a registered cgroup (or a
 * descendant), keeps it wherever it moves, and hands it to every task it
 * creates. Every decision walks from the object's dentry towards its root,
 * and the nearest rule wins.
 *
 * Every early "return ret" below is a deliberate allow-or-pass-through: it
 * either leaves a task that no container owns alone, or hands back the verdict
 * of an earlier LSM program (a denial by another program stands).
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kernel_types.h"
#include "cgfence_abi.h"

#define EPERM 1
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EINVAL 22
#define PROT_EXEC 0x4
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
/* In f_flags, not f_mode: stable uapi-side values since 2.6. */
#define __FMODE_EXEC 0x20
#define O_ACCMODE 3
/* The attribute ioctls (uapi linux/fs.h): _IOW('f', 2, long), _IOW('f', 2, int), _IOW('X', 32,
 * struct fsxattr). */
#define FS_IOC_SETFLAGS 0x40086602
#define FS_IOC32_SETFLAGS 0x40046602
#define FS_IOC_FSSETXATTR 0x401c5820
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define CGROUP2_SUPER_MAGIC 0x63677270
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define BINFMTFS_MAGIC 0x42494e4d
#define TRACEFS_MAGIC 0x74726163
#define DEBUGFS_MAGIC 0x64626720
#define CGROUP_SUPER_MAGIC 0x27e0eb
/* d_flags bit, 0x20 from 2.6 to 7.x (an enum bit since 6.14, same value). */
#define DCACHE_DISCONNECTED 0x20
#define S_IFMT 00170000
#define S_IFDIR 0040000

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
/* 6.2 and later; used only where marks live in task storage (6.2 and later too). */
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *task) __ksym __weak;

#ifndef CGFENCE_BUILD_STAMP
#define CGFENCE_BUILD_STAMP 1
#endif
/*
 * Part of the object's bytes, hence of the build id `load` compares: the
 * upgrade test builds the program a second time with another stamp.
 */
const volatile __u64 cgfence_build_stamp = CGFENCE_BUILD_STAMP;

/*
 * Where the tasks' marks live, set by the loader from the kernel's BTF
 * (bpf/mark_store.cpp): true, task storage; false, `marks` is a hash keyed
 * by the task's address. The branch not taken is dead code the verifier
 * removes, so a 5.10 kernel never sees the task storage helpers.
 */
const volatile __u8 marks_in_task_storage = 1; /* 0 or 1: the C++ skeleton has no _Bool */

struct policy_inner {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1); /* each container's map is sized by its writer */
    /* Sizes, not types: clang 14 emits an inner map's key type as a forward. */
    __uint(key_size, sizeof(struct cgfence_policy_key));
    __uint(value_size, sizeof(union cgfence_policy_value));
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, CGFENCE_MAX_CONTAINERS);
    __type(key, __u64); /* registered cgroup id */
    __array(values, struct policy_inner);
} policies SEC(".maps");

/*
 * The confined tasks' marks. Declared as task storage; where the loader
 * chooses the hash instead it creates that map itself (key: the task's
 * address, CGFENCE_MAX_MARKED_TASKS entries) and hands it to libbpf.
 */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct cgfence_task_mark);
} marks SEC(".maps");

/* Keyed by container; key 0 is the orphans' (orphan_settings): one more. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, CGFENCE_MAX_CONTAINERS + 1);
    __type(key, __u64);
    __type(value, struct cgfence_counters);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, CGFENCE_MAX_CONTAINERS + 1);
    __type(key, __u64);
    __type(value, struct cgfence_container_state);
} containers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, CGFENCE_EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

/*
 * Learn mode's memory (cgfence_abi.h). Allocated as entries are added, so the
 * bound costs nothing until a container learns.
 */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, CGFENCE_MAX_LEARNED);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct cgfence_learned_key);
    __type(value, struct cgfence_learned);
} learned SEC(".maps");

/* Written by userspace only; declared here so the loader creates and pins them. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, CGFENCE_MAX_CONTAINERS);
    __type(key, __u64);
    __type(value, struct cgfence_record);
} records SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct cgfence_meta);
} meta SEC(".maps");

/*
 * The credentials overlayfs works under for an overlay (the layer exception,
 * walk()): keyed by the struct cred's address, the overlay (its dev and root
 * inode) whose mounter's credentials they are, or were prepared from while
 * those were in force (a create's fsuid and fsgid). Learned when the
 * overlay's files are opened (learn_overlay_cred), never written by
 * userspace. An entry leaves when its cred is freed (lsm/cred_free, which the
 * kernel calls only where some LSM keeps a cred blob, as AppArmor and SELinux
 * do), and in any case when a new cred is made at its address
 * (clear_cred_slot): no entry outlives its cred into another's. Least
 * recently used entries make room for new ones: an entry evicted is learned
 * again at the overlay's next open, so no container holds the map full. Not
 * pinned: each load starts empty.
 */
struct overlay_id {
    __u32 dev;
    __u32 reserved;
    __u64 root_ino;
};

#define MAX_OVERLAY_CREDS 16384

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, MAX_OVERLAY_CREDS);
    __type(key, __u64);
    __type(value, struct overlay_id);
} overlay_creds SEC(".maps");

/*
 * A registered container without settings is a writer bug (settings and rules
 * are published together in one map): fail closed, deny everything.
 *
 * Both settings below are const: in .rodata, which libbpf freezes at load, so
 * that no bpf() call can change them (in .data or .bss, a task with CAP_BPF
 * could rewrite them through the map by id).
 */
const struct cgfence_settings fail_closed_settings = {
    .mode = CGFENCE_MODE_ENFORCE,
    .default_access = 0,
    .deep_access = 0,
};

/*
 * An orphan: a confined task whose container's policy is gone (torn down or
 * collected while the task lived on outside the container's cgroup). It
 * keeps its mark, so it is still confined: to nothing. Fail closed, deny
 * everything, with a few records a second (counted under key 0).
 */
const struct cgfence_settings orphan_settings = {
    .mode = CGFENCE_MODE_ENFORCE,
    .default_access = 0,
    .deep_access = 0,
    .events_per_sec = 10,
    .events_burst = 20,
};

/* The container that owns the current task. */
struct container {
    __u64 cgroup_id; /* the container: its registered cgroup id */
    __u64 account;   /* key of its counters and rate limiter: cgroup_id, 0 for an orphan */
    void *rules;     /* its inner map; NULL for an orphan */
    const struct cgfence_settings *settings;
    __u8 origin; /* CGFENCE_ORIGIN_* of the task */
};

/* The mark of `task`; NULL: the task is not confined. */
static __always_inline struct cgfence_task_mark *mark_of(struct task_struct *task)
{
    if (marks_in_task_storage)
        return bpf_task_storage_get(&marks, task, 0, 0);
    __u64 key = (__u64)task;

    return bpf_map_lookup_elem(&marks, &key);
}

static __always_inline struct cgfence_task_mark *current_mark(void)
{
    if (marks_in_task_storage)
        return bpf_task_storage_get(&marks, bpf_get_current_task_btf(), 0, 0);
    __u64 key = bpf_get_current_task();

    return bpf_map_lookup_elem(&marks, &key);
}

/* Gives `task` (a new task, or the current one) the mark `mark`; false when there is no room. */
static __always_inline bool set_mark(struct task_struct *task, struct cgfence_task_mark *mark)
{
    if (marks_in_task_storage)
        return bpf_task_storage_get(&marks, task, mark, BPF_LOCAL_STORAGE_GET_F_CREATE) != NULL;
    __u64 key = (__u64)task;

    return bpf_map_update_elem(&marks, &key, mark, BPF_ANY) == 0;
}

/* The container of a task marked `mark`, with its policy, or an orphan's. */
static __always_inline void load_container(struct container *c,
                                           const struct cgfence_task_mark *mark)
{
    c->cgroup_id = mark->container;
    c->origin = mark->origin;
    c->account = c->cgroup_id;
    c->rules = bpf_map_lookup_elem(&policies, &c->cgroup_id);
    if (!c->rules) {
        c->account = 0;
        c->settings = &orphan_settings;
        return;
    }
    struct cgfence_policy_key key = {.kind = CGFENCE_KEY_SETTINGS};

    c->settings = bpf_map_lookup_elem(c->rules, &key);
    if (!c->settings)
        c->settings = &fail_closed_settings;
}

/*
 * The container of the current task; false when it carries no mark: it is
 * not confined (a host task, or the runtime's own task in a container's
 * cgroup before its exec).
 */
static __always_inline bool confined(struct container *c)
{
    struct cgfence_task_mark *mark = current_mark();

    if (!mark)
        return false;
    load_container(c, mark);
    return true;
}

static __always_inline __u64 ancestor_cgroup_id(struct cgroup *cgrp, int level)
{
    if (bpf_core_field_exists(((struct cgroup___ancestor_ids *)0)->ancestor_ids)) {
        struct cgroup___ancestor_ids *old = (void *)cgrp;
        __u64 id = 0;

        bpf_core_read(&id, sizeof(id), &old->ancestor_ids[level]);
        return id;
    }
    struct cgroup *ancestor = NULL;

    bpf_core_read(&ancestor, sizeof(ancestor), &cgrp->ancestors[level]);
    return BPF_CORE_READ(ancestor, kn, id);
}

/*
 * The registered container whose cgroup holds `task`: the outermost
 * registered cgroup among its own and its ancestors, checked from level 1
 * down to the task's own (at most CGFENCE_MAX_CGROUP_LEVEL, the deepest level
 * the hook registers), so a task in any descendant cgroup is found however
 * deep it went. Outermost: a nested registration cannot loosen the policy of
 * the container it sits in. Asked only of tasks without a mark (their exec,
 * the exec window's checks, marking at load): L lookups at level L. A cgroup
 * whose id cannot be read is taken as unregistered: it then holds no task of
 * a container (the kernel fills its ancestors before any task joins it).
 * (bpf_get_current_ancestor_cgroup_id would do the reads in one call for the
 * current task, but 5.10 does not give it to LSM programs.)
 */
static __always_inline bool registered_cgroup_of(struct task_struct *task, __u64 *id)
{
    struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
    int level = BPF_CORE_READ(cgrp, level);

    for (int i = 1; i <= CGFENCE_MAX_CGROUP_LEVEL && i <= level; i++) {
        *id = ancestor_cgroup_id(cgrp, i);
        if (bpf_map_lookup_elem(&policies, id))
            return true;
    }
    return false;
}

static __always_inline bool registered_cgroup(__u64 *id)
{
    return registered_cgroup_of((void *)bpf_get_current_task(), id);
}

/*
 * Is `task`, in the cgroup of `container`, where that container's tasks arm:
 * in its mount namespace? A host task moved into the cgroup, or a runtime's
 * exec helper that execs itself there before it joins the container's
 * namespaces (runc 1.4), stays what it is.
 */
static __always_inline bool in_container_view(struct task_struct *task, __u64 container)
{
    struct cgfence_container_state *state = bpf_map_lookup_elem(&containers, &container);

    if (!state || !state->view_mnt_ns)
        return true; /* no view recorded: any (the writer always records one) */
    return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) == state->view_mnt_ns;
}

/*
 * Whether `mark` makes its task one of container `c`'s own that its other
 * tasks may reach into: not while its exec is still under way.
 */
static __always_inline bool reachable_in(const struct cgfence_task_mark *mark,
                                         const struct container *c)
{
    return mark && mark->container == c->cgroup_id && !(mark->flags & CGFENCE_MARK_PENDING);
}

/* Whether the policy names overlay `id`: a rule on its root (the hook's). */
static __always_inline bool names_overlay(struct container *c, const struct overlay_id *id)
{
    struct cgfence_policy_key key = {
        .kind = CGFENCE_KEY_INODE,
        .dev = id->dev,
        .ino = id->root_ino,
    };

    return c->rules && bpf_map_lookup_elem(c->rules, &key) != NULL; /* an orphan names none */
}

/*
 * The current task's credentials, when they are overridden (overlayfs's own
 * work, an io_uring personality, anything else's); NULL when they are its own.
 */
static __always_inline const struct cred *overriding_cred(void)
{
    struct task_struct *task = (void *)bpf_get_current_task();
    const struct cred *cred = BPF_CORE_READ(task, cred);

    return cred != BPF_CORE_READ(task, real_cred) ? cred : NULL;
}

/*
 * Is the current task doing overlayfs's work for the overlay whose layer
 * (rule with `overlay_dev`) a walk reached? Only overlayfs runs under an
 * overlay's credentials (overlay_creds); a personality, or an overlay of the
 * task's own, is not that overlay (the container's rootfs, alive while the
 * container is: no other superblock can have its dev meanwhile).
 */
static __always_inline bool overlay_work(struct container *c, __u32 overlay_dev)
{
    __u64 key = (__u64)overriding_cred();
    struct overlay_id *id = key ? bpf_map_lookup_elem(&overlay_creds, &key) : NULL;

    if (!id)
        return false;
    return overlay_dev ? id->dev == overlay_dev : names_overlay(c, id);
}

enum walk_end {
    WALK_UNFINISHED = 0, /* too deep or disconnected: deep_access */
    WALK_RULE,           /* a rule gave the access */
    WALK_FS_ROOT,        /* a filesystem or mount root: fs-type rule, then default */
    WALK_OVERLAY_LAYER,  /* an overlay layer's root */
};

struct walk_result {
    __u8 access;
    __u8 end;              /* enum walk_end */
    __u8 own_rule;         /* the rule that decided is on the object itself */
    __u8 by_default;       /* no rule decided: the default (or deep_access) did */
    __u8 own_nonrecursive; /* own_rule, and that rule is non-recursive */
    __u32 overlay_dev;     /* WALK_OVERLAY_LAYER: the rule's overlay_dev */
};

/*
 * Nearest rule from `dentry` towards its root; the rule's access, or what the
 * end of the walk gives. `first_depth` is 1 when the object is a child that
 * does not exist yet below `dentry` (where something would be moved or linked
 * to), so non-recursive rules on `dentry` itself do not apply. Every way out of
 * the loop is a `break` so the verifier sees few distinct states after it.
 *
 * This loop is every decision's cost, so it reads through the kernel's
 * pointers directly (BTF-typed: the verifier turns each read into a load that
 * reads 0 on a fault) instead of a bpf_probe_read call per field. Every
 * caller passes a pointer the verifier knows the type of.
 */
static __always_inline struct walk_result walk(struct container *c, struct dentry *dentry,
                                               int first_depth)
{
    struct walk_result w = {.end = WALK_UNFINISHED};
    struct super_block *sb = dentry->d_sb;
    struct cgfence_policy_key key = {
        .kind = CGFENCE_KEY_INODE,
        .dev = sb->s_dev,
    };
    struct dentry *object = dentry;
    __u8 flags = 0;
    bool met_rule = false; /* a rule on the way, a non-recursive one that did not apply too */

    if (!c->rules) {
        /* An orphan (see orphan_settings): no rule, nothing granted. */
        w.by_default = 1;
        return w;
    }
    for (int depth = 0; depth < CGFENCE_MAX_WALK_DEPTH; depth++) {
        struct inode *inode = dentry->d_inode; /* NULL: a negative dentry */

        key.ino = inode ? inode->i_ino : 0;
        struct cgfence_rule *rule = key.ino ? bpf_map_lookup_elem(c->rules, &key) : NULL;

        if (rule) {
            met_rule = true;
            flags = rule->flags;
            if (!(flags & CGFENCE_RULE_NONRECURSIVE) || depth + first_depth == 0) {
                w.access = rule->access;
                w.end = (flags & CGFENCE_RULE_MOUNT_BOUNDARY)  ? WALK_FS_ROOT
                        : (flags & CGFENCE_RULE_OVERLAY_LAYER) ? WALK_OVERLAY_LAYER
                                                               : WALK_RULE;
                w.own_rule = dentry == object;
                w.own_nonrecursive = w.own_rule && (flags & CGFENCE_RULE_NONRECURSIVE);
                w.overlay_dev = rule->overlay_dev;
                break;
            }
        }
        struct dentry *parent = dentry->d_parent;

        if (parent == dentry) {
            /*
             * The top of this filesystem: its root, or the lone dentry of a
             * pipe, socket or other pseudo file (no root in any view). Only a
             * dentry marked disconnected (open_by_handle_at) has unknown rules
             * above it.
             */
            if (dentry != sb->s_root && (dentry->d_flags & DCACHE_DISCONNECTED))
                break;
            /*
             * An overlay no rule names is one the container mounted itself
             * (every mount root the hook saw carries a rule): its files are
             * views of other files, whose rules this walk cannot see, and
             * before 6.6 overlayfs opens and maps the real file under the
             * overlay's path. Unfinished: deep_access, never the default.
             */
            if (met_rule || sb->s_magic != OVERLAYFS_SUPER_MAGIC)
                w.end = WALK_FS_ROOT;
            break;
        }
        dentry = parent;
    }
    /* Falling out of the loop: deeper than CGFENCE_MAX_WALK_DEPTH, unfinished. */

    const struct cgfence_settings *s = c->settings;

    switch (w.end) {
    case WALK_RULE:
        break;
    case WALK_OVERLAY_LAYER:
        /*
         * overlayfs's own work on its layers, after the overlay object was
         * judged; anyone else, whatever credentials it holds, gets the rule.
         */
        if (overlay_work(c, w.overlay_dev))
            w.access = CGFENCE_ACCESS_ALL;
        break;
    case WALK_FS_ROOT:
        w.access = s->default_access;
        w.by_default = 1;
        if (s->flags & CGFENCE_SETTINGS_HAS_FSTYPE_RULES) {
            struct cgfence_policy_key fs = {
                .kind = CGFENCE_KEY_FSTYPE,
                .ino = sb->s_magic,
            };
            struct cgfence_rule *rule = bpf_map_lookup_elem(c->rules, &fs);

            if (rule) {
                w.access = rule->access;
                w.by_default = 0;
            }
        }
        break;
    default:
        /* Fail closed: never more than every rule on any path could grant. */
        w.access = s->deep_access;
        w.by_default = 1;
        break;
    }
    return w;
}

static __always_inline bool take_event_token(struct container *c)
{
    struct cgfence_container_state *rl = bpf_map_lookup_elem(&containers, &c->account);

    if (!rl)
        return false; /* the writer creates it; without it, count the loss */
    __u64 now = bpf_ktime_get_ns();
    __u64 cap = (__u64)c->settings->events_burst * 1000;
    __u64 elapsed = now - rl->refill_ns;
    __u64 tokens = rl->tokens;

    /* Racy between CPUs by design: a few extra or fewer records, never a lock. */
    if (rl->refill_ns == 0 || elapsed >= 1000000000ULL * 64)
        tokens = cap;
    else
        tokens += elapsed * c->settings->events_per_sec / 1000000;
    if (tokens > cap)
        tokens = cap;
    rl->refill_ns = now;
    if (tokens < 1000) {
        rl->tokens = tokens;
        return false;
    }
    rl->tokens = tokens - 1000;
    return true;
}

/*
 * A record of the current task's container, its object fields left for the
 * caller; NULL (and the loss counted) when the container's rate limit or the
 * ring buffer has no room. The caller submits it.
 */
static __always_inline struct cgfence_event *start_report(struct container *c,
                                                          struct cgfence_counters *n, __u8 wanted,
                                                          __u8 granted, __u8 hook, __u8 verdict)
{
    struct cgfence_event *e = NULL;

    if (take_event_token(c))
        e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        if (n)
            n->events_dropped++;
        return NULL;
    }
    __u64 pid_tgid = bpf_get_current_pid_tgid();

    e->time_ns = bpf_ktime_get_ns();
    e->container = c->cgroup_id;
    e->cgroup = bpf_get_current_cgroup_id();
    e->pid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->wanted = wanted;
    e->granted = granted;
    e->hook = hook;
    e->verdict = verdict;
    e->mode = c->settings->mode;
    e->origin = c->origin;
    __builtin_memset(e->reserved, 0, sizeof(e->reserved));
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    if (n)
        n->events_sent++;
    return e;
}

static __always_inline void report(struct container *c, struct cgfence_counters *n,
                                   struct dentry *dentry, __u8 wanted, __u8 granted, __u8 hook,
                                   __u8 verdict)
{
    struct cgfence_event *e = start_report(c, n, wanted, granted, hook, verdict);

    if (!e)
        return;
    e->ino = BPF_CORE_READ(dentry, d_inode, i_ino);
    e->dev = BPF_CORE_READ(dentry, d_sb, s_dev);
    const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);

    if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), name) < 0)
        e->name[0] = 0;
    bpf_ringbuf_submit(e, 0);
}

/* Adds a new access to `learned`; false when the container's bound is reached. */
static __always_inline bool add_learned(struct cgfence_learned_key *key, struct dentry *dentry,
                                        __u8 hook)
{
    struct cgfence_container_state *rl = bpf_map_lookup_elem(&containers, &key->container);

    if (!rl || rl->learned >= CGFENCE_MAX_LEARNED_PER_CONTAINER)
        return false;
    struct inode *inode = dentry->d_inode;
    struct inode *parent = dentry->d_parent->d_inode;
    struct cgfence_learned value = {
        .parent_ino = parent ? parent->i_ino : 0,
        .fs_magic = dentry->d_sb->s_magic,
        .hook = hook,
        .is_dir = inode && (inode->i_mode & S_IFMT) == S_IFDIR,
    };

    if (bpf_probe_read_kernel_str(value.name, sizeof(value.name), dentry->d_name.name) < 0)
        value.name[0] = 0;
    /* Two CPUs adding the same access: one adds it, the other finds it there. */
    if (bpf_map_update_elem(&learned, key, &value, BPF_NOEXIST) != 0)
        return bpf_map_lookup_elem(&learned, key) != NULL;
    __sync_fetch_and_add(&rl->learned, 1); /* racy bound: a few over, never a lock */
    return true;
}

/*
 * Learn mode: remembers a distinct access once per (container, object, rights).
 * True when it is new (only then is it reported) or could not be remembered
 * (counted, and reported so that the loss shows while it happens).
 */
static __always_inline bool remember(struct container *c, struct cgfence_counters *n,
                                     struct dentry *dentry, __u8 wanted, __u8 hook)
{
    struct inode *inode = dentry->d_inode;
    struct cgfence_learned_key key = {
        .container = c->cgroup_id,
        .ino = inode ? inode->i_ino : 0,
        .dev = dentry->d_sb->s_dev,
        .wanted = wanted,
    };

    if (bpf_map_lookup_elem(&learned, &key))
        return false; /* known: the common case, one lookup */
    if (!add_learned(&key, dentry, hook) && n)
        n->learn_dropped++;
    return true;
}

/* What the walk grants; in learn mode, as a default-deny reading of the profile. */
static __always_inline __u8 granted_by(struct container *c, struct walk_result w)
{
    return c->settings->mode == CGFENCE_MODE_LEARN && w.by_default ? 0 : w.access;
}

/*
 * The verdict for `wanted` given the walk's result: counts it, reports a
 * would-be denial, and returns 0 or -EACCES by the container's mode. Learn mode
 * judges by a default-deny reading of the profile (the default grants
 * nothing), allows, and remembers what that reading would deny.
 */
static __always_inline int verdict(struct container *c, struct dentry *dentry, __u8 wanted,
                                   struct walk_result w, __u8 hook)
{
    struct cgfence_counters *n = bpf_map_lookup_elem(&counters, &c->account);
    __u8 mode = c->settings->mode;
    __u8 granted = granted_by(c, w);

    if (n)
        n->decisions++;
    if (!(wanted & ~granted))
        return 0;
    if (mode == CGFENCE_MODE_ENFORCE) {
        if (n)
            n->denied++;
        report(c, n, dentry, wanted, granted, hook, CGFENCE_VERDICT_DENIED);
        return -EACCES;
    }
    if (n)
        n->audited++;
    if (mode != CGFENCE_MODE_LEARN || remember(c, n, dentry, wanted, hook))
        report(c, n, dentry, wanted, granted, hook, CGFENCE_VERDICT_AUDITED);
    return 0;
}

static __always_inline int judge_dentry(struct container *c, struct dentry *dentry, __u8 wanted,
                                        __u8 hook)
{
    return verdict(c, dentry, wanted, walk(c, dentry, 0), hook);
}

/*
 * The built-in refusals (self-protection, leaving the container, the exec
 * window), whatever the profile says and in every mode: EPERM, counted and
 * reported as a denial. Tampering is never audit-only.
 */
static __always_inline void count_refusal(struct container *c, __u8 wanted, __u8 hook,
                                          const void *name, __u32 dev, __u64 ino)
{
    struct cgfence_counters *n = bpf_map_lookup_elem(&counters, &c->account);

    if (n) {
        n->decisions++;
        n->denied++;
    }
    struct cgfence_event *e = start_report(c, n, wanted, 0, hook, CGFENCE_VERDICT_DENIED);

    if (!e)
        return;
    e->dev = dev;
    e->ino = ino;
    if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), name) < 0)
        e->name[0] = 0;
    bpf_ringbuf_submit(e, 0);
}

static __always_inline int refuse_builtin(struct container *c, __u8 wanted, __u8 hook,
                                          const void *name, __u32 dev, __u64 ino)
{
    count_refusal(c, wanted, hook, name, dev, ino);
    return -EPERM;
}

/* `dentry`'s name, cut to 15 bytes; false when it cannot be read. */
static __always_inline bool read_name(struct dentry *dentry, char name[16])
{
    return bpf_probe_read_kernel_str(name, 16, dentry->d_name.name) >= 0;
}

/* Do the first `length` bytes of `name` match `prefix`? */
static __always_inline bool has_prefix(const char name[16], const char *prefix, int length)
{
    for (int i = 0; i < length && i < 16; i++)
        if (name[i] != prefix[i])
            return false;
    return true;
}

/* Is `name` exactly the string literal `literal`? (Its NUL is compared too.) */
#define same_name(name, literal) has_prefix(name, literal, sizeof(literal))

/*
 * Leaving the container's cgroup. A confined task may not move itself or
 * another task out of its container's cgroup subtree by writing a pid to
 * cgroup.procs or cgroup.threads of a cgroup v2 directory outside it (built
 * in, whatever the profile, in every mode). `dentry` is such a file of a
 * directory that is neither the container's cgroup nor below it (a cgroup
 * directory's inode number is its cgroup id); a tree deeper than the walk
 * bound counts as outside. clone3(CLONE_INTO_CGROUP) and cgroup v1 moves reach
 * no LSM hook: there, the task's mark is the guarantee (it is judged as its
 * container's wherever it runs).
 */
static __always_inline bool leaves_container(struct container *c, struct dentry *dentry)
{
    if (dentry->d_sb->s_magic != CGROUP2_SUPER_MAGIC)
        return false;
    char name[16] = {};

    if (!read_name(dentry, name))
        return true; /* an unreadable name of a cgroup file: fail closed */
    if (!same_name(name, "cgroup.procs") && !same_name(name, "cgroup.threads"))
        return false;
    struct dentry *dir = dentry->d_parent;
    bool inside = false;

    for (int depth = 0; depth < CGFENCE_MAX_WALK_DEPTH; depth++) {
        struct inode *inode = dir->d_inode;
        struct dentry *parent = dir->d_parent;

        if (inode && inode->i_ino == c->cgroup_id) {
            inside = true;
            break;
        }
        if (parent == dir)
            break;
        dir = parent;
    }
    return !inside;
}

/*
 * The kernel's helpers. Some files name a program the kernel runs as the
 * host's root, outside every cgroup and namespace: a core dump's pipe
 * (/proc/sys/kernel/core_pattern), module loading (kernel.modprobe), an
 * orderly poweroff (kernel.poweroff_cmd), hotplug events
 * (kernel.hotplug, /sys/kernel/uevent_helper), a cgroup v1 hierarchy's
 * release_agent, and binfmt_misc's interpreters (every file of it). Others
 * make the kernel itself do the container's bidding: a module's parameters
 * (/sys/module/MODULE/parameters/, where firmware_class's path names the
 * directory the kernel loads device firmware from), tracefs, whose
 * kprobe_events and friends attach probes to any kernel function, and
 * debugfs, the kernel's switches for its developers (kprobes/enabled, fault
 * injection, drivers' registers). A task with CAP_SYS_ADMIN mounts a fresh
 * procfs, sysfs, cgroup v1, binfmt_misc, tracefs or debugfs and writes them. So a confined task
 * never opens them for writing, whatever its profile says (built in, every mode).
 */
static __always_inline bool names_kernel_helper(struct dentry *dentry)
{
    unsigned long magic = dentry->d_sb->s_magic;

    if (magic == BINFMTFS_MAGIC || magic == TRACEFS_MAGIC || magic == DEBUGFS_MAGIC)
        return true;
    if (magic != PROC_SUPER_MAGIC && magic != SYSFS_MAGIC && magic != CGROUP_SUPER_MAGIC)
        return false;
    char name[16] = {};
    char parent[16] = {};

    if (!read_name(dentry, name) || !read_name(dentry->d_parent, parent))
        return true; /* an unreadable name on these filesystems: fail closed */
    if (magic == CGROUP_SUPER_MAGIC)
        return same_name(name, "release_agent");
    if (magic == SYSFS_MAGIC && same_name(parent, "parameters")) {
        char top[16] = {};

        /* MODULE/parameters/NAME below /sys/module */
        return !read_name(dentry->d_parent->d_parent->d_parent, top) || same_name(top, "module");
    }
    if (!same_name(parent, "kernel"))
        return false;
    if (magic == SYSFS_MAGIC)
        return same_name(name, "uevent_helper");
    return same_name(name, "core_pattern") || same_name(name, "modprobe") ||
           same_name(name, "poweroff_cmd") || same_name(name, "hotplug");
}

/*
 * Another task's insides through procfs. /proc/PID/mem, environ, auxv and the
 * maps files read a task's memory or layout; the kernel asks the ptrace hook
 * (below) for them, except 7.x, which no longer does for all but mem. And a
 * write to a /proc/PID entry changes that task (oom_score_adj, clear_refs,
 * coredump_filter, attr/...). So the open itself is judged: a confined task
 * opens those reads, and any /proc/PID entry for writing, only for tasks of
 * its own container (reachable_in). What ps and top read (stat, status,
 * cmdline, ...) stays open to all, as the kernel keeps it.
 */
static __always_inline bool reads_memory(const char name[16])
{
    return same_name(name, "mem") || same_name(name, "environ") || same_name(name, "auxv") ||
           same_name(name, "maps") || same_name(name, "smaps") || same_name(name, "smaps_rollup") ||
           same_name(name, "pagemap") || same_name(name, "numa_maps");
}

/* `file`, opened for `wanted`, reaches into a task that is not c's. */
static __always_inline bool reaches_foreign_task(struct container *c, struct file *file,
                                                 __u8 wanted)
{
    struct dentry *dentry = file->f_path.dentry;

    if (dentry->d_sb->s_magic != PROC_SUPER_MAGIC)
        return false;
    if (!(wanted & CGFENCE_ACCESS_WRITE)) {
        char name[16] = {};

        if (read_name(dentry, name) && !reads_memory(name))
            return false; /* an unreadable name is taken for a memory file: fail closed */
    }
    /* procfs inodes are a proc_inode's; a /proc/PID entry's holds the pid. */
    struct proc_inode *proc =
        (void *)((char *)file->f_inode - bpf_core_field_offset(struct proc_inode, vfs_inode));
    struct pid *pid = BPF_CORE_READ(proc, pid);

    if (!pid)
        return false; /* not a task's entry (/proc/self/... resolves to one) */
    if (marks_in_task_storage) {
        /*
         * The task by its number in the initial namespace: were the number
         * reused since, this entry's open fails with ESRCH, whatever is
         * decided here.
         */
        struct task_struct *task = bpf_task_from_pid(BPF_CORE_READ(pid, numbers[0].nr));

        if (!task)
            return false; /* gone: the open fails with ESRCH */
        bool reachable = reachable_in(bpf_task_storage_get(&marks, task, 0, 0), c);

        bpf_task_release(task);
        return !reachable;
    }
    struct hlist_node *link = BPF_CORE_READ(pid, tasks[0].first);

    if (!link)
        return false; /* gone: the open fails with ESRCH */
    /* The task's address, the hash's key: only compared, never read through. */
    __u64 key = (__u64)link - bpf_core_field_offset(struct task_struct, pid_links[0]);

    return !reachable_in(bpf_map_lookup_elem(&marks, &key), c);
}

/*
 * `dentry` is cgfence's pin directory, a directory in it (maps/, progs/,
 * links/ and an upgrade's links-new/ and links-old/), or an entry of one of
 * them. `dentry` may be negative: a rename's target.
 */
static __always_inline bool pinned_by_cgfence(struct dentry *dentry)
{
    __u32 zero = 0;
    struct cgfence_meta *m = bpf_map_lookup_elem(&meta, &zero);

    if (!m || !m->pin_root || BPF_CORE_READ(dentry, d_sb, s_dev) != m->pin_dev)
        return false;
    struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

    return BPF_CORE_READ(dentry, d_inode, i_ino) == m->pin_root ||
           BPF_CORE_READ(parent, d_inode, i_ino) == m->pin_root ||
           BPF_CORE_READ(parent, d_parent, d_inode, i_ino) == m->pin_root;
}

static __always_inline int refuse_in_pins(struct container *c, struct dentry *dentry, __u8 hook)
{
    return refuse_builtin(c, CGFENCE_ACCESS_WRITE, hook, BPF_CORE_READ(dentry, d_name.name),
                          BPF_CORE_READ(dentry, d_sb, s_dev),
                          BPF_CORE_READ(dentry, d_inode, i_ino));
}

/*
 * overlayfs opens its layers' files on private clones of the layers' mounts,
 * which belong to no namespace (the kernel's MNT_NS_INTERNAL, ERR_PTR(-EINVAL),
 * 5.10 to 7.x). Every file a task opens, by path or by handle, is on a mount
 * of some namespace.
 */
static __always_inline bool on_private_mount(struct file *file)
{
    struct vfsmount *vfs = file->f_path.mnt;
    struct mount *mount = (void *)((char *)vfs - bpf_core_field_offset(struct mount, mnt));

    return (long)BPF_CORE_READ(mount, mnt_ns) == -EINVAL;
}

/*
 * The credentials overlayfs works under for an overlay are learned as that
 * overlay's (overlay_creds, for overlay_work) when a file of the overlay is
 * opened, whoever opens it: an overlay's superblock names its mounter's
 * credentials (struct ovl_fs) where the kernel's BTF describes overlayfs;
 * elsewhere (5.10: no module BTF) overlayfs's own open of the real file,
 * under the overlay file's path and its credentials, shows them. The first
 * exec in a container opens its binary so, in the runtime's task before it is
 * the container's (`c` NULL: any overlay is learned), before any work on the
 * rootfs's layers. A confined task learns only for overlays its policy names,
 * so that no container fills the map with overlays of its own. A full map
 * learns nothing: the layer work fails (closed) and the denial is recorded.
 */
static __always_inline void learn_overlay_cred(struct container *c, struct file *file)
{
    struct dentry *dentry = file->f_path.dentry;
    struct super_block *sb = dentry->d_sb;
    const struct cred *cred;

    if (sb->s_magic != OVERLAYFS_SUPER_MAGIC)
        return;
    if (bpf_core_type_exists(struct ovl_fs)) {
        struct ovl_fs *ofs = sb->s_fs_info;

        cred = BPF_CORE_READ(ofs, creator_cred);
    } else {
        if (file->f_inode == dentry->d_inode)
            return; /* the overlay file itself, not overlayfs's open of its real file */
        cred = overriding_cred();
    }
    __u64 key = (__u64)cred;

    if (!key || bpf_map_lookup_elem(&overlay_creds, &key))
        return;
    struct overlay_id id = {
        .dev = sb->s_dev,
        .root_ino = sb->s_root->d_inode->i_ino,
    };

    if (!c || names_overlay(c, &id))
        bpf_map_update_elem(&overlay_creds, &key, &id, BPF_NOEXIST);
}

/*
 * A file's verdict is the one of the path its user opened. On 6.6 and later an
 * overlay's mapping holds a backing_file whose f_path is the layer's; a walk
 * that ends on a layer root outside overlayfs's own work (no credentials
 * overridden) then judges the overlay path the user opened
 * (backing_file->user_path), checked to be an overlay's. Before 6.6 overlayfs
 * gave such files the overlay path itself.
 *
 * bpf_rdonly_cast (6.2 and later) gives the walk a typed pointer past the
 * struct file; where backing_file does not exist the branch is dead and the
 * weak kfunc unresolved. Only a file on a private mount is taken for a
 * backing file: past a plain struct file (a layer file a task reached by
 * handle) lies whatever the slab left there, never a path to trust; and
 * overlayfs's plain files on private mounts (directories, copy-up) are its
 * own, used under overridden credentials only.
 */
static __always_inline int judge_file(struct container *c, struct file *file, __u8 wanted,
                                      __u8 hook)
{
    struct dentry *dentry = file->f_path.dentry;
    struct walk_result w = walk(c, dentry, 0);

    if (w.end == WALK_OVERLAY_LAYER && !overriding_cred() &&
        bpf_core_type_exists(struct backing_file) && on_private_mount(file)) {
        struct backing_file *bf =
            bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct backing_file));
        struct dentry *user = bf->user_path.dentry;

        if (user && user->d_sb->s_magic == OVERLAYFS_SUPER_MAGIC) {
            dentry = user;
            w = walk(c, dentry, 0);
        }
    }
    return verdict(c, dentry, wanted, w, hook);
}

SEC("lsm/file_open")
int BPF_PROG(cgfence_file_open, struct file *file, int ret)
{
    struct container c;

    if (ret)
        return ret;
    if (!confined(&c)) {
        learn_overlay_cred(NULL, file);
        return 0;
    }
    unsigned int mode = BPF_CORE_READ(file, f_mode);
    unsigned int flags = BPF_CORE_READ(file, f_flags);
    __u8 wanted = 0;

    if (flags & __FMODE_EXEC) {
        wanted = CGFENCE_ACCESS_EXEC; /* execve and its interpreter: x, not r */
    } else if ((flags & O_ACCMODE) == O_ACCMODE) {
        /*
         * Access mode 3: a file for ioctls only, with neither mode bit, for
         * which the kernel asks read and write permission: rw.
         */
        wanted = CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE;
    } else {
        if (mode & FMODE_READ)
            wanted |= CGFENCE_ACCESS_READ;
        if (mode & FMODE_WRITE)
            wanted |= CGFENCE_ACCESS_WRITE;
    }
    if (!wanted)
        return 0; /* an open for neither read nor write grants nothing */
    struct dentry *dentry = file->f_path.dentry;

    if ((wanted & CGFENCE_ACCESS_WRITE) &&
        (leaves_container(&c, dentry) || names_kernel_helper(dentry)))
        return refuse_builtin(&c, wanted, CGFENCE_HOOK_FILE_OPEN, dentry->d_name.name,
                              dentry->d_sb->s_dev, file->f_inode->i_ino);
    if (reaches_foreign_task(&c, file, wanted))
        return refuse_builtin(&c, wanted, CGFENCE_HOOK_FILE_OPEN, dentry->d_name.name,
                              dentry->d_sb->s_dev, file->f_inode->i_ino);
    /*
     * A pinned map's file reads out the map's contents (bpffs prints maps
     * with BTF) with no bpf() call: where the host's bpffs is in its view, a
     * confined task opens nothing of cgfence's pins.
     */
    if (pinned_by_cgfence(dentry))
        return refuse_in_pins(&c, dentry, CGFENCE_HOOK_FILE_OPEN);
    learn_overlay_cred(&c, file);
    return judge_file(&c, file, wanted, CGFENCE_HOOK_FILE_OPEN);
}

/*
 * Marks the current task, found in the registered cgroup `container` (or
 * below it), as that container's, its exec under way; NULL when the mark
 * finds no room. The container's first task to arm is its init's exec; every
 * later one comes in by an exec from outside.
 */
static __always_inline struct cgfence_task_mark *arm_current(__u64 container)
{
    struct cgfence_task_mark mark = {
        .container = container,
        .origin = CGFENCE_ORIGIN_EXEC,
        .flags = CGFENCE_MARK_PENDING,
    };
    struct cgfence_container_state *state = bpf_map_lookup_elem(&containers, &container);

    /* Racy between CPUs: a first exec and a runtime's exec at once is rare and only names them. */
    if (state && !state->armed_ns) {
        state->armed_ns = bpf_ktime_get_ns();
        mark.origin = CGFENCE_ORIGIN_INIT;
    }
    struct task_struct *task =
        marks_in_task_storage ? bpf_get_current_task_btf() : (void *)bpf_get_current_task();

    if (!set_mark(task, &mark))
        return NULL;
    return current_mark();
}

/*
 * The exec that arms a task: the first exec of a task without a mark whose
 * cgroup is (inside) a registered container's, in the container's mount
 * namespace. Before it the task is the runtime's (runc or crun init, exec
 * set-up) and is never judged; from here on, before the new program runs a
 * single instruction (its interpreter's open included), it is the
 * container's, wherever it goes. An exec that fails after this point (the
 * verdict below, a bad binary) leaves the task armed: earlier, never later.
 * The container's other tasks reach into it only once the exec is done
 * (bprm_committing_creds below).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(cgfence_bprm_check, struct linux_binprm *bprm, int ret)
{
    struct container c;

    if (ret)
        return ret;
    struct cgfence_task_mark *mark = current_mark();

    if (!mark) {
        __u64 container = 0;

        if (!registered_cgroup(&container))
            return ret; /* a task no container owns execs: never judged */
        if (!in_container_view((void *)bpf_get_current_task(), container))
            return ret; /* not in the container's view: a host or runtime task, never judged */
        mark = arm_current(container);
        if (!mark)
            return -ENOMEM; /* fail closed: no exec into a container without its mark */
    }
    load_container(&c, mark);
    return judge_file(&c, bprm->file, CGFENCE_ACCESS_EXEC, CGFENCE_HOOK_BPRM_CHECK);
}

/*
 * The exec's point of no return is behind (the runtime's memory and
 * close-on-exec files are gone): the container's other tasks may reach into
 * the task from now on.
 */
SEC("lsm/bprm_committing_creds")
int BPF_PROG(cgfence_bprm_committing_creds, struct linux_binprm *bprm)
{
    struct cgfence_task_mark *mark = current_mark();

    if (mark && (mark->flags & CGFENCE_MARK_PENDING))
        mark->flags &= ~CGFENCE_MARK_PENDING;
    return 0;
}

SEC("lsm/mmap_file")
int BPF_PROG(cgfence_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret)
{
    struct container c;

    if (ret || !file || !(prot & PROT_EXEC) || !confined(&c))
        return ret;
    return judge_file(&c, file, CGFENCE_ACCESS_EXEC, CGFENCE_HOOK_MMAP_FILE);
}

SEC("lsm/file_mprotect")
int BPF_PROG(cgfence_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
             unsigned long prot, int ret)
{
    struct container c;

    if (ret || !(prot & PROT_EXEC))
        return ret;
    struct file *file = vma->vm_file;

    if (!file || !confined(&c))
        return ret; /* anonymous memory is not a file */
    return judge_file(&c, file, CGFENCE_ACCESS_EXEC, CGFENCE_HOOK_FILE_MPROTECT);
}

/*
 * The attribute ioctls change a file's flags (immutable, append-only, ...)
 * and project attributes through any descriptor of it, a read-only one too:
 * they need w, as a chmod does. The command is compared first: ioctls are
 * many, these are rare. (A deduplication's destination needs no rule here:
 * its descriptor was opened with r, and sharing extents of equal content
 * changes no byte.)
 */
static __always_inline int judge_ioctl(struct file *file, unsigned int cmd, int ret)
{
    struct container c;

    if (ret || (cmd != FS_IOC_SETFLAGS && cmd != FS_IOC32_SETFLAGS && cmd != FS_IOC_FSSETXATTR))
        return ret;
    if (!confined(&c))
        return ret;
    return judge_file(&c, file, CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_FILE_IOCTL);
}

SEC("lsm/file_ioctl")
int BPF_PROG(cgfence_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
    return judge_ioctl(file, cmd, ret);
}

/* 6.8 and later: a 32-bit task's ioctls have a hook of their own. */
SEC("lsm/file_ioctl_compat")
int BPF_PROG(cgfence_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
             int ret)
{
    return judge_ioctl(file, cmd, ret);
}

/*
 * Self-protection. A confined task, in every mode and whatever its
 * capabilities, gets no fd to cgfence's maps or programs (by id, by pin, or any
 * other way the kernel hands one out), cannot open a BPF link by id, detach or
 * replace one (links cannot be told apart at lsm/bpf, so this holds for every
 * link), and cannot unpin, rename or change what cgfence pinned.
 */

/* The per-container policy maps are named so by their writer (bpf/policy.cpp). */
#define POLICY_MAP_NAME "cgfence_policy"
/*
 * libbpf names an object's global data maps by the object's name, cut to fit
 * the section's: "cgfence_.rodata", "cgfence_.data", "cgfence_.bss". (The
 * string literals' map keeps only the name's first letter: "c.rodata.str1.1";
 * frozen like .rodata, it holds nothing but the program's strings.)
 */
#define GLOBAL_DATA_PREFIX "cgfence_."
#define PROGRAM_PREFIX "cgfence_"

static __always_inline bool cgfence_map(struct bpf_map *map)
{
    void *m = map;
    char name[16] = {};

    if (m == (void *)&policies || m == (void *)&counters || m == (void *)&containers ||
        m == (void *)&events || m == (void *)&records || m == (void *)&meta ||
        m == (void *)&learned || m == (void *)&marks || m == (void *)&overlay_creds)
        return true;
    bpf_core_read(name, sizeof(name), &map->name);
    return has_prefix(name, POLICY_MAP_NAME, sizeof(POLICY_MAP_NAME)) ||
           has_prefix(name, GLOBAL_DATA_PREFIX, sizeof(GLOBAL_DATA_PREFIX) - 1);
}

SEC("lsm/bpf_map")
int BPF_PROG(cgfence_bpf_map, struct bpf_map *map, unsigned int fmode, int ret)
{
    struct container c;

    /* The identity first: the host opens maps all the time, containers rarely. */
    if (ret || !cgfence_map(map) || !confined(&c))
        return ret;
    __u8 wanted = (fmode & FMODE_READ ? CGFENCE_ACCESS_READ : 0) |
                  (fmode & FMODE_WRITE ? CGFENCE_ACCESS_WRITE : 0);

    return refuse_builtin(&c, wanted, CGFENCE_HOOK_BPF_MAP, map->name, 0, 0);
}

SEC("lsm/bpf_prog")
int BPF_PROG(cgfence_bpf_prog, struct bpf_prog *prog, int ret)
{
    struct container c;
    char name[16] = {};

    if (ret)
        return ret;
    struct bpf_prog_aux *aux = BPF_CORE_READ(prog, aux);

    bpf_core_read(name, sizeof(name), &aux->name);
    if (!has_prefix(name, PROGRAM_PREFIX, sizeof(PROGRAM_PREFIX) - 1) || !confined(&c))
        return ret;
    return refuse_builtin(&c, CGFENCE_ACCESS_READ, CGFENCE_HOOK_BPF_PROG, aux->name, 0, 0);
}

/*
 * lsm/bpf sees every bpf() command before the kernel looks up its object. A
 * confined task creates and uses maps of its own (and the BTF that describes
 * them), and nothing else:
 *   - it loads no program: a loader with CAP_PERFMON (which CAP_SYS_ADMIN
 *     passes for) gets bpf_probe_read_kernel in a program of any type, and
 *     tracing, iterator and LSM programs run in other tasks' context: kernel
 *     memory, and the page cache of every file, would be open to it;
 *   - it reaches no program or link already there, by id, query, attach or
 *     detach: the runtime's device filter on its own cgroup (detached, the
 *     container makes and opens a node of the host's disk) and cgfence's own
 *     pinned links (only the command is known here, not the object);
 *   - it opens no map by id: other tasks' maps (a CNI's policy) are theirs.
 * Without those capabilities none of it works anyway (Debian keeps
 * unprivileged BPF off).
 */
static __always_inline bool own_map_command(int cmd)
{
    switch (cmd) {
    case BPF_MAP_CREATE:
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_DELETE_ELEM:
    case BPF_MAP_GET_NEXT_KEY:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
    case BPF_MAP_FREEZE:
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH:
    case BPF_OBJ_PIN:
    case BPF_OBJ_GET:
    case BPF_OBJ_GET_INFO_BY_FD:
    case BPF_BTF_LOAD:
        return true;
    default:
        return false;
    }
}

static __always_inline int judge_bpf_command(int cmd, int ret)
{
    struct container c;

    if (ret || !confined(&c) || own_map_command(cmd))
        return ret;
    return refuse_builtin(&c, CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_BPF, "bpf", 0, (__u64)cmd);
}

/* (cmd, attr, size) before 6.14; (cmd, attr, size, kernel) after. */
SEC("lsm/bpf")
int BPF_PROG(cgfence_bpf_d0, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
    return judge_bpf_command(cmd, ret);
}

SEC("lsm/bpf")
int BPF_PROG(cgfence_bpf_d1, int cmd, union bpf_attr *attr, unsigned int size, bool kernel, int ret)
{
    return judge_bpf_command(cmd, ret);
}

/* Creating `dentry` (negative) in its parent directory needs w there. */
static __always_inline int judge_new_child(struct dentry *dentry, int ret, __u8 hook)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    return judge_dentry(&c, dentry->d_parent, CGFENCE_ACCESS_WRITE, hook);
}

SEC("lsm/inode_create")
int BPF_PROG(cgfence_inode_create, struct inode *dir, struct dentry *dentry, unsigned short mode,
             int ret)
{
    return judge_new_child(dentry, ret, CGFENCE_HOOK_INODE_CREATE);
}

SEC("lsm/inode_mknod")
int BPF_PROG(cgfence_inode_mknod, struct inode *dir, struct dentry *dentry, unsigned short mode,
             unsigned int dev, int ret)
{
    return judge_new_child(dentry, ret, CGFENCE_HOOK_INODE_MKNOD);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(cgfence_inode_mkdir, struct inode *dir, struct dentry *dentry, unsigned short mode,
             int ret)
{
    return judge_new_child(dentry, ret, CGFENCE_HOOK_INODE_MKDIR);
}

SEC("lsm/inode_symlink")
int BPF_PROG(cgfence_inode_symlink, struct inode *dir, struct dentry *dentry, const char *old_name,
             int ret)
{
    return judge_new_child(dentry, ret, CGFENCE_HOOK_INODE_SYMLINK);
}

/*
 * Removing `dentry` needs w on its directory and on the object itself, so a
 * rule that keeps a file from being written also keeps it from being removed.
 */
static __always_inline int judge_removal(struct container *c, struct dentry *dentry, __u8 hook)
{
    int err = judge_dentry(c, dentry->d_parent, CGFENCE_ACCESS_WRITE, hook);

    if (err)
        return err;
    return judge_dentry(c, dentry, CGFENCE_ACCESS_WRITE, hook);
}

SEC("lsm/inode_unlink")
int BPF_PROG(cgfence_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    if (pinned_by_cgfence(dentry))
        return refuse_in_pins(&c, dentry, CGFENCE_HOOK_INODE_UNLINK);
    return judge_removal(&c, dentry, CGFENCE_HOOK_INODE_UNLINK);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(cgfence_inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    if (pinned_by_cgfence(dentry))
        return refuse_in_pins(&c, dentry, CGFENCE_HOOK_INODE_RMDIR);
    return judge_removal(&c, dentry, CGFENCE_HOOK_INODE_RMDIR);
}

/*
 * Giving `object` a new name below `new_parent` (link, rename) must not gain
 * it a right: what the new place would grant a child must be a subset of what
 * the object has now.
 *
 * A rule on the object itself moves with it (rules are keyed by inode), but
 * only while this policy lives: a restart or `apply` resolves the rule's path
 * anew, and the object, away from that path, then gets what its new place
 * gives. So an own rule is no licence to move. A directory whose own rule is
 * non-recursive carries its children, which have what lies above it: they may
 * not gain either.
 */
static __always_inline int judge_new_name(struct container *c, struct dentry *object,
                                          struct dentry *new_parent, __u8 hook)
{
    int err = judge_dentry(c, new_parent, CGFENCE_ACCESS_WRITE, hook);

    if (err)
        return err;
    struct walk_result now = walk(c, object, 0);
    __u8 there = granted_by(c, walk(c, new_parent, 1));
    __u8 gains = there & ~granted_by(c, now);
    struct inode *inode = object->d_inode;

    if (now.own_nonrecursive && inode && (inode->i_mode & S_IFMT) == S_IFDIR)
        gains |= there & ~granted_by(c, walk(c, object, 1));
    struct walk_result none = {0};

    /* Report the right the move would gain as the one wanted. */
    return verdict(c, object, gains, none, hook);
}

/* Is `dentry` a directory on the way to a restrictive rule's object? */
static __always_inline bool holds_rule(struct container *c, struct dentry *dentry)
{
    struct inode *inode = dentry->d_inode;

    if (!inode || !c->rules)
        return false;
    struct cgfence_policy_key key = {
        .kind = CGFENCE_KEY_RULE_HOLDER,
        .dev = dentry->d_sb->s_dev,
        .ino = inode->i_ino,
    };

    return bpf_map_lookup_elem(c->rules, &key) != NULL;
}

SEC("lsm/inode_link")
int BPF_PROG(cgfence_inode_link, struct dentry *old_dentry, struct inode *dir,
             struct dentry *new_dentry, int ret)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    return judge_new_name(&c, old_dentry, new_dentry->d_parent, CGFENCE_HOOK_INODE_LINK);
}

SEC("lsm/inode_rename")
int BPF_PROG(cgfence_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
             struct inode *new_dir, struct dentry *new_dentry, int ret)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    if (pinned_by_cgfence(old_dentry))
        return refuse_in_pins(&c, old_dentry, CGFENCE_HOOK_INODE_RENAME);
    if (pinned_by_cgfence(new_dentry))
        return refuse_in_pins(&c, new_dentry, CGFENCE_HOOK_INODE_RENAME);
    int err =
        judge_dentry(&c, old_dentry->d_parent, CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_INODE_RENAME);

    if (err)
        return err;
    /*
     * Renamed, a directory holding a restrictive rule's object would take the
     * object away from the path the rule names (judged as w on it, so audit
     * and learn modes report it).
     */
    if (holds_rule(&c, old_dentry)) {
        struct walk_result none = {0};

        return verdict(&c, old_dentry, CGFENCE_ACCESS_WRITE, none, CGFENCE_HOOK_INODE_RENAME);
    }
    /* Replacing an existing target removes it. (RENAME_EXCHANGE calls us twice.) */
    if (BPF_CORE_READ(new_dentry, d_inode)) {
        err = judge_dentry(&c, new_dentry, CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_INODE_RENAME);
        if (err)
            return err;
    }
    return judge_new_name(&c, old_dentry, new_dentry->d_parent, CGFENCE_HOOK_INODE_RENAME);
}

/* Changing a file's attributes, extended attributes or ACLs needs w on it. */
static __always_inline int judge_change(struct dentry *dentry, int ret, __u8 hook)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    if (pinned_by_cgfence(dentry))
        return refuse_in_pins(&c, dentry, hook);
    return judge_dentry(&c, dentry, CGFENCE_ACCESS_WRITE, hook);
}

/*
 * Hooks whose prototype changed inside the supported kernel range: one program
 * per prototype; the loader enables the one that matches the kernel's BTF
 * (bpf/hook_prototypes.cpp). The suffix is the position of the dentry.
 */
SEC("lsm/inode_setattr")
int BPF_PROG(cgfence_inode_setattr_d0, struct dentry *dentry, void *attr, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_SETATTR);
}

SEC("lsm/inode_setattr")
int BPF_PROG(cgfence_inode_setattr_d1, void *idmap, struct dentry *dentry, void *attr, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_SETATTR);
}

SEC("lsm/inode_setxattr")
int BPF_PROG(cgfence_inode_setxattr_d0, struct dentry *dentry, const char *name, const void *value,
             unsigned long size, int flags, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_SETXATTR);
}

SEC("lsm/inode_setxattr")
int BPF_PROG(cgfence_inode_setxattr_d1, void *idmap, struct dentry *dentry, const char *name,
             const void *value, unsigned long size, int flags, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_SETXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(cgfence_inode_removexattr_d0, struct dentry *dentry, const char *name, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_REMOVEXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(cgfence_inode_removexattr_d1, void *idmap, struct dentry *dentry, const char *name,
             int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_REMOVEXATTR);
}

/* 6.17 and later: file_setattr(2) and the attribute ioctls, by path or descriptor. */
SEC("lsm/inode_file_setattr")
int BPF_PROG(cgfence_inode_file_setattr, struct dentry *dentry, void *fa, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_FILE_SETATTR);
}

/* 6.2 and later: POSIX ACLs no longer pass through the xattr hooks. */
SEC("lsm/inode_set_acl")
int BPF_PROG(cgfence_inode_set_acl_d1, void *idmap, struct dentry *dentry, const char *acl_name,
             void *kacl, int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_SET_ACL);
}

SEC("lsm/inode_remove_acl")
int BPF_PROG(cgfence_inode_remove_acl_d1, void *idmap, struct dentry *dentry, const char *acl_name,
             int ret)
{
    return judge_change(dentry, ret, CGFENCE_HOOK_INODE_REMOVE_ACL);
}

/*
 * Marks follow the task: every task a confined task creates (process,
 * thread, io_uring worker) is its container's from birth, before it runs.
 * Runs in the parent. A child whose mark finds no room is not created
 * (ENOMEM): it would run unconfined.
 */
SEC("lsm/task_alloc")
int BPF_PROG(cgfence_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
    if (ret)
        return ret;
    struct cgfence_task_mark *parent = current_mark();

    if (parent) {
        struct cgfence_task_mark mark = *parent;

        /*
         * Pending is the exec under way in the parent, not the child's: a
         * new task is never mid-exec. (Only a failed arming exec forks from
         * the pending state, in the runtime's own code.)
         */
        mark.flags &= ~CGFENCE_MARK_PENDING;
        if (set_mark(task, &mark))
            return 0;
        struct container c;

        load_container(&c, &mark);
        count_refusal(&c, CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_TASK_ALLOC, task->comm, 0, 0);
        return -ENOMEM;
    }
    if (marks_in_task_storage)
        return 0; /* a new task's storage is empty */
    /*
     * The hash: a freed task whose slot could not be emptied (a delete fails
     * only when the map is busy on this CPU) left its mark at this address;
     * the new task is not its heir. Not emptied now: no fork, rather than a
     * host task confined by a stranger's mark.
     */
    __u64 key = (__u64)task;

    if (bpf_map_lookup_elem(&marks, &key) && bpf_map_delete_elem(&marks, &key) != 0)
        return -EAGAIN;
    return 0;
}

/* The hash's slot of a task being freed (task storage frees its own). */
SEC("lsm/task_free")
int BPF_PROG(cgfence_task_free, struct task_struct *task)
{
    if (marks_in_task_storage)
        return 0;
    __u64 key = (__u64)task;

    /*
     * A delete that fails (the map busy on this CPU) leaves a stale slot,
     * which the next fork at this address clears (task_alloc): no stranger
     * inherits it.
     */
    bpf_map_delete_elem(&marks, &key);
    return 0;
}

/*
 * overlay_creds follows the credentials overlayfs prepares while an overlay's
 * are in force (a create's fsuid and fsgid, an LSM's copy-up label), and
 * forgets every cred when it is freed. A delete can fail (the map busy on
 * this CPU); a cred born at an address with a leftover entry is not its
 * heir: the entry goes, or the cred is not made (EAGAIN), as for marks.
 */
static __always_inline int clear_cred_slot(__u64 key)
{
    if (bpf_map_lookup_elem(&overlay_creds, &key) && bpf_map_delete_elem(&overlay_creds, &key) != 0)
        return -EAGAIN;
    return 0;
}

SEC("lsm/cred_prepare")
int BPF_PROG(cgfence_cred_prepare, struct cred *new, const struct cred *old, unsigned int gfp,
             int ret)
{
    if (ret)
        return ret;
    __u64 new_key = (__u64) new;
    __u64 old_key = (__u64)old;
    /* A task's own credentials are never an overlay's: no lookup for them. */
    struct task_struct *task = (void *)bpf_get_current_task();
    struct overlay_id *id = old != BPF_CORE_READ(task, real_cred)
                                ? bpf_map_lookup_elem(&overlay_creds, &old_key)
                                : NULL;

    if (id) {
        struct overlay_id copy = *id;

        /* No room: the new cred is not trusted, its layer work fails closed. */
        if (bpf_map_update_elem(&overlay_creds, &new_key, &copy, BPF_ANY) == 0)
            return 0;
    }
    return clear_cred_slot(new_key);
}

/* keyctl's blank credentials (KEYCTL_SESSION_TO_PARENT). */
SEC("lsm/cred_alloc_blank")
int BPF_PROG(cgfence_cred_alloc_blank, struct cred *cred, unsigned int gfp, int ret)
{
    if (ret)
        return ret;
    return clear_cred_slot((__u64)cred);
}

SEC("lsm/cred_free")
int BPF_PROG(cgfence_cred_free, struct cred *cred)
{
    __u64 key = (__u64)cred;

    if (bpf_map_lookup_elem(&overlay_creds, &key))
        bpf_map_delete_elem(&overlay_creds, &key);
    return 0;
}

#define PTRACE_MODE_ATTACH 0x02
#define PTRACE_MODE_NOAUDIT 0x04

/*
 * Other tasks' insides. A confined task may ptrace, read or write the
 * memory of (/proc/PID/mem, process_vm_readv/writev), take the fds of
 * (pidfd_getfd, /proc/PID/fd), or reach the root, cwd, environment and
 * namespaces of (/proc/PID/root, /proc/PID/ns/...) only tasks of its own
 * container: all of those pass __ptrace_may_access, whose LSM hook this is.
 * So a runtime's exec helper in the container's cgroup before its exec (no
 * mark yet, maybe still in the host's mount namespace) and the host's tasks
 * stay out of its reach, and so does a task of its own container while its
 * exec is under way. Built in, every mode.
 */
SEC("lsm/ptrace_access_check")
int BPF_PROG(cgfence_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
    struct container c;

    if (ret || !confined(&c))
        return ret;
    if (reachable_in(mark_of(child), &c))
        return 0;
    /* The kernel's own probes (/proc/PID/stat fields): refused, neither counted nor reported. */
    if (mode & PTRACE_MODE_NOAUDIT)
        return -EPERM;
    __u8 wanted = CGFENCE_ACCESS_READ | (mode & PTRACE_MODE_ATTACH ? CGFENCE_ACCESS_WRITE : 0);

    return refuse_builtin(&c, wanted, CGFENCE_HOOK_PTRACE, child->comm, 0, child->pid);
}

/* PTRACE_TRACEME: a task asks its parent to trace it; a confined parent gets only its own. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(cgfence_ptrace_traceme, struct task_struct *parent, int ret)
{
    if (ret)
        return ret;
    struct cgfence_task_mark *tracer = mark_of(parent);

    if (!tracer)
        return ret; /* an unconfined tracer: the host may debug a container */
    struct cgfence_task_mark as_tracer = *tracer;
    struct container c;

    load_container(&c, &as_tracer);
    if (reachable_in(current_mark(), &c))
        return 0;
    return refuse_builtin(&c, CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE, CGFENCE_HOOK_TRACEME,
                          parent->comm, 0, parent->pid);
}

/*
 * The exec window. A task in a container's cgroup without a mark is the
 * runtime's, on its way to exec the command it was asked for (runc or crun
 * exec set-up); it is never judged. It receives no file descriptor
 * (SCM_RIGHTS, pidfd_getfd, seccomp's addfd), so no task of the container
 * can hand it something to open or run on its behalf. Built in, every mode.
 */
SEC("lsm/file_receive")
int BPF_PROG(cgfence_file_receive, struct file *file, int ret)
{
    if (ret || current_mark())
        return ret; /* a confined task may be given what its sender could open */
    __u64 container = 0;

    if (!registered_cgroup(&container))
        return ret; /* a task no container owns */
    struct cgfence_task_mark window = {.container = container, .origin = CGFENCE_ORIGIN_NONE};
    struct container c;

    load_container(&c, &window);
    struct dentry *dentry = file->f_path.dentry;

    return refuse_builtin(&c, CGFENCE_ACCESS_READ, CGFENCE_HOOK_FILE_RECEIVE, dentry->d_name.name,
                          dentry->d_sb->s_dev, file->f_inode->i_ino);
}

/*
 * At load. A container registered while cgfence's programs were not
 * attached (maps only, or `on_unavailable: allow`) has tasks that exec'd with
 * nothing to mark them. The loader runs this once over every task after
 * attaching (and at every upgrade): a task without a mark in a registered
 * container's cgroup and mount namespace is marked the container's from now
 * on. A runtime's task in its window at that moment is marked too: fail
 * closed. One line per task marked, or not for lack of room, which the
 * loader counts.
 */
SEC("iter/task")
int cgfence_mark_running(struct bpf_iter__task *ctx)
{
    struct task_struct *task = ctx->task;
    __u64 container = 0;

    if (!task || mark_of(task) || !registered_cgroup_of(task, &container) ||
        !in_container_view(task, container))
        return 0;
    struct cgfence_task_mark mark = {.container = container, .origin = CGFENCE_ORIGIN_LOAD};

    if (set_mark(task, &mark))
        BPF_SEQ_PRINTF(ctx->meta->seq, "marked %d %llu\n", task->pid, container);
    else
        BPF_SEQ_PRINTF(ctx->meta->seq, "unmarked %d %llu\n", task->pid, container);
    return 0;
}
