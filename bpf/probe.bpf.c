// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest BPF LSM program: `cgfencectl load` loads and attaches it to
 * find out whether this kernel runs BPF LSM programs at all (a kernel can list
 * "bpf" in its active LSMs and still refuse them). It returns what earlier
 * programs decided and changes nothing.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct file;

SEC("lsm/file_open")
int BPF_PROG(cgfence_probe, struct file *file, int ret)
{
    return ret;
}
