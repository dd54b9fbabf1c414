// SPDX-License-Identifier: GPL-2.0
/*
 * The physical floor of the open and exec benchmarks (state f): empty LSM
 * programs on the hooks cgfence runs on those paths. What they cost is the
 * BPF trampoline alone, which no program on these hooks can avoid.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kernel_types.h"

char LICENSE[] SEC("license") = "GPL";

/* Every program passes `ret` on, so an earlier program's denial would stand. */
SEC("lsm/file_open")
int BPF_PROG(empty_file_open, struct file *file, int ret)
{
    return ret;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(empty_bprm_check, struct linux_binprm *bprm, int ret)
{
    return ret;
}

/* The kernel maps a static binary's segments with vm_mmap during execve. */
SEC("lsm/mmap_file")
int BPF_PROG(empty_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret)
{
    return ret;
}
