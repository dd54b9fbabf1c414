/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel structures the program reads, each with only the fields it
 * reads. preserve_access_index makes every access a CO-RE relocation, so the
 * offsets come from the running kernel's BTF at load time (5.10 to 7.x), and no
 * generated vmlinux.h is needed. Where a field moved between versions, a
 * `___flavour` struct names the old layout and the program asks
 * bpf_core_field_exists() which one the kernel has.
 */
#ifndef CGFENCE_KERNEL_TYPES_H
#define CGFENCE_KERNEL_TYPES_H

#include <linux/types.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct kernfs_node {
    __u64 id;
};

struct cgroup {
    int level;
    struct kernfs_node *kn;
    struct cgroup *ancestors[]; /* 6.0 and later */
};

struct cgroup___ancestor_ids {
    int level;
    __u64 ancestor_ids[]; /* before 6.0 */
};

struct css_set {
    struct cgroup *dfl_cgrp;
};

struct cred {
    __u32 usage; /* never read; a struct needs one member */
};

struct hlist_node {
    struct hlist_node *next;
};

struct hlist_head {
    struct hlist_node *first;
};

struct ns_common {
    unsigned int inum; /* the nsfs inode number */
};

struct mnt_namespace {
    struct ns_common ns;
};

struct nsproxy {
    struct mnt_namespace *mnt_ns;
};

struct task_struct {
    unsigned int flags; /* PF_* */
    int pid;            /* the thread's id in the initial pid namespace */
    char comm[16];
    struct nsproxy *nsproxy; /* NULL once the task is exiting */
    struct css_set *cgroups;
    const struct cred *cred;
    const struct cred *real_cred;
    struct hlist_node pid_links[4]; /* PIDTYPE_MAX */
};

struct upid {
    int nr;
};

struct pid {
    struct hlist_head tasks[4]; /* PIDTYPE_MAX; [0] is PIDTYPE_PID */
    struct upid numbers[1];     /* [0]: the initial pid namespace's */
};

struct super_block {
    __u32 s_dev; /* dev_t: MKDEV(major, minor) = major << 20 | minor */
    unsigned long s_magic;
    struct dentry *s_root;
    void *s_fs_info; /* the filesystem's own: an overlay's struct ovl_fs */
};

/*
 * overlayfs's per-superblock data. overlayfs is a module on most kernels: its
 * types are in the module's BTF (5.11 and later, the module loaded when the
 * program is), not in vmlinux's; where neither has it the program asks
 * bpf_core_type_exists() and does without.
 */
struct ovl_fs {
    const struct cred *creator_cred; /* the mounter's: overlayfs's work runs under them */
};

struct inode {
    unsigned short i_mode; /* umode_t */
    unsigned long i_ino;
    struct super_block *i_sb;
};

struct qstr {
    const unsigned char *name;
};

struct dentry {
    unsigned int d_flags;
    struct dentry *d_parent;
    struct qstr d_name;
    struct inode *d_inode;
    struct super_block *d_sb;
};

struct vfsmount {
    struct dentry *mnt_root;
};

/* The mount a vfsmount is embedded in; mnt_ns: its namespace. */
struct mount {
    struct vfsmount mnt;
    struct mnt_namespace *mnt_ns;
};

struct path {
    struct vfsmount *mnt;
    struct dentry *dentry;
};

/* procfs's inode: the task of a /proc/PID entry is its pid's. */
struct proc_inode {
    struct pid *pid;
    struct inode vfs_inode;
};

struct file {
    struct path f_path;
    struct inode *f_inode;
    unsigned int f_flags;
    unsigned int f_mode;
};

/* 6.6 and later: a file that overlayfs (or fuse passthrough) opens on a layer. */
struct backing_file {
    struct file file;
    struct path user_path;
};

struct linux_binprm {
    struct file *file;
};

struct vm_area_struct {
    struct file *vm_file;
};

struct bpf_map {
    char name[16]; /* BPF_OBJ_NAME_LEN */
};

struct bpf_prog_aux {
    char name[16];
};

struct bpf_prog {
    struct bpf_prog_aux *aux;
};

struct seq_file;

struct bpf_iter_meta {
    struct seq_file *seq;
};

/* The context of an iter/task program. */
struct bpf_iter__task {
    struct bpf_iter_meta *meta;
    struct task_struct *task; /* NULL at the end */
};

#pragma clang attribute pop

#endif /* CGFENCE_KERNEL_TYPES_H */
