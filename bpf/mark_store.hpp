// Where the program keeps each confined task's mark (cgfence_task_mark),
// chosen from the kernel's BTF when cgfence is loaded.
#pragma once

#include <memory>

#include "error.hpp"

struct btf;

namespace cgfence {

enum class MarkStore {
    // Task local storage: freed with the task. Kernels whose task storage
    // serves LSM programs without a busy check (6.2 and later).
    task_storage,
    // A hash keyed by the task's address, filled at fork and emptied when
    // the task is freed: kernels without task storage (5.10), and those
    // whose bpf_task_storage_get can fail for a task that has a mark when
    // another task storage user on the same CPU was preempted (5.11 to 6.1):
    // a missed mark would be an unconfined task.
    task_hash,
};

// The store for the kernel `vmlinux` describes (nullptr: a kernel without
// BTF, which gets the hash).
MarkStore mark_store_for_kernel(const btf *vmlinux);

const char *mark_store_name(MarkStore store);

// Are io_uring's workers threads of the task that submits the work (5.12 and
// later, and 5.10 kernels with the io_uring backport of 5.10.162)? Then they
// inherit its mark at fork. Before, they were kernel threads: work a
// confined task forces to a worker (IOSQE_ASYNC, or any open on 5.10) runs
// unconfined.
bool io_uring_workers_inherit_marks(const btf *vmlinux);

// The running kernel's BTF (/sys/kernel/btf/vmlinux).
using KernelBtf = std::unique_ptr<btf, void (*)(btf *)>;
Result<KernelBtf> load_kernel_btf();

} // namespace cgfence
