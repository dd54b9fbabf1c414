#include "kernel_features.hpp"

#include <bpf/btf.h>
#include <cerrno>
#include <filesystem>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unique_fd.hpp"

namespace cgfence {
namespace {

bool has(const btf *vmlinux, const char *name, int kind)
{
    return btf__find_by_name_kind(vmlinux, name, kind) >= 0;
}

} // namespace

Result<KernelBtf> load_kernel_btf()
{
    KernelBtf vmlinux(btf__load_vmlinux_btf(), btf__free);
    if (!vmlinux)
        return Error{"load kernel BTF", "/sys/kernel/btf/vmlinux", errno,
                     "cgfence needs CONFIG_DEBUG_INFO_BTF=y"};
    return vmlinux;
}

MarkStore mark_store_for_kernel(const btf *vmlinux)
{
    // Evidence of 6.2 or later, where the program also finds the task of a
    // /proc/PID entry (bpf_task_from_pid) for its task storage lookup.
    if (!vmlinux || !has(vmlinux, "bpf_task_storage_get", BTF_KIND_FUNC) ||
        !has(vmlinux, "bpf_task_from_pid", BTF_KIND_FUNC))
        return MarkStore::task_hash;
    // 5.13 to 6.1 guard task storage with a per-CPU busy count that LSM
    // programs' lookups try and give up on; 6.2 gave tracing programs a
    // `_recur` helper of their own and LSM programs one without the check,
    // and later kernels dropped the count altogether.
    if (has(vmlinux, "bpf_task_storage_get_recur", BTF_KIND_FUNC) ||
        !has(vmlinux, "bpf_task_storage_busy", BTF_KIND_VAR))
        return MarkStore::task_storage;
    return MarkStore::task_hash;
}

const char *mark_store_name(MarkStore store)
{
    return store == MarkStore::task_storage ? "task storage" : "hash by task";
}

std::vector<std::string> kernel_caveats(const btf *vmlinux)
{
    std::vector<std::string> caveats;
    if (!has(vmlinux, "create_io_thread", BTF_KIND_FUNC))
        caveats.emplace_back("this kernel's io_uring workers are kernel threads: work a confined "
                             "task forces to a worker (IOSQE_ASYNC) runs unconfined. Use Linux "
                             "5.12 or later (or 5.10.162 and later), or keep io_uring from "
                             "containers (seccomp)");
    if (has(vmlinux, "backing_file", BTF_KIND_STRUCT) && !has(vmlinux, "ovl_fs", BTF_KIND_STRUCT) &&
        !std::filesystem::exists("/sys/kernel/btf/overlay"))
        caveats.emplace_back("this kernel's BTF does not describe overlayfs (its module is "
                             "not loaded, or was built without BTF): on an overlay rootfs, "
                             "overlayfs's own work on the layers is refused, and the "
                             "containers break. Load the overlay module before cgfence");
    return caveats;
}

void load_overlayfs()
{
    // fsopen looks the filesystem type up, which loads its module; the
    // context is closed unused. Failure (no overlayfs at all) is fine.
    UniqueFd context(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
}

} // namespace cgfence
