// SPDX-License-Identifier: GPL-2.0
/*
 * Another BPF LSM program on file_open, for the test that its denial stands
 * next to cgfence's: it refuses with EPERM opens of one inode.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kernel_types.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 target_ino = 0;

SEC("lsm/file_open")
int BPF_PROG(deny_other_file_open, struct file *file, int ret)
{
    if (ret)
        return ret;
    return BPF_CORE_READ(file, f_inode, i_ino) == target_ino ? -1 /* EPERM */ : 0;
}
