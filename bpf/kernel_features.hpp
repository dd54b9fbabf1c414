// What the running kernel offers cgfence, read from its BTF at load: where
// the program keeps each confined task's mark, and what it leaves unconfined.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "error.hpp"

struct btf;

namespace cgfence {

// The running kernel's BTF (/sys/kernel/btf/vmlinux).
using KernelBtf = std::unique_ptr<btf, void (*)(btf *)>;
Result<KernelBtf> load_kernel_btf();

enum class MarkStore {
    // Task local storage: freed with the task. Kernels whose task storage
    // serves LSM programs without a busy check, and that give them
    // bpf_task_from_pid (6.2 and later).
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

// What a kernel leaves unconfined that cgfence cannot close, or refuses that
// it should not, one sentence each (the loader warns of them): io_uring
// workers that are kernel threads (before 5.12, and 5.10 without the io_uring
// backport of 5.10.162) do not inherit the submitter's mark; a 6.6 or later
// kernel whose BTF does not describe overlayfs leaves the program no way to
// tell overlayfs's work on a rootfs's layers from anyone else's.
std::vector<std::string> kernel_caveats(const btf *vmlinux);

// Loads overlayfs if it is a module not loaded yet (the kernel's own module
// autoload, as a mount would), so that its BTF is there when the program is
// loaded. Best effort: a kernel without overlayfs needs none of it.
void load_overlayfs();

} // namespace cgfence
