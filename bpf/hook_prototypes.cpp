#include "hook_prototypes.hpp"

#include <bpf/btf.h>
#include <cerrno>

namespace cgfence {
namespace {

struct Variant {
    const char *program;
    const char *hook;
    unsigned int arguments;       // the hook's parameters, without BPF's trailing `ret`
    bool optional;                // a hook that only some kernels have
    bool hash_marks_only = false; // needed only where marks live in the hash
};

// Keep in step with bpf/cgfence.bpf.c.
constexpr Variant kVariants[] = {
    {"cgfence_file_open", "file_open", 1, false},
    {"cgfence_bprm_check", "bprm_check_security", 1, false},
    {"cgfence_bprm_committing_creds", "bprm_committing_creds", 1, false},
    {"cgfence_mmap_file", "mmap_file", 4, false},
    {"cgfence_file_mprotect", "file_mprotect", 3, false},
    {"cgfence_inode_create", "inode_create", 3, false},
    {"cgfence_inode_mknod", "inode_mknod", 4, false},
    {"cgfence_inode_mkdir", "inode_mkdir", 3, false},
    {"cgfence_inode_symlink", "inode_symlink", 3, false},
    {"cgfence_inode_unlink", "inode_unlink", 2, false},
    {"cgfence_inode_rmdir", "inode_rmdir", 2, false},
    {"cgfence_inode_link", "inode_link", 3, false},
    {"cgfence_inode_rename", "inode_rename", 4, false},
    // (dentry, attr) before 6.3; (mnt_idmap, dentry, attr) after.
    {"cgfence_inode_setattr_d0", "inode_setattr", 2, false},
    {"cgfence_inode_setattr_d1", "inode_setattr", 3, false},
    // (dentry, ...) before 5.12; (user_namespace or mnt_idmap, dentry, ...) after.
    {"cgfence_inode_setxattr_d0", "inode_setxattr", 5, false},
    {"cgfence_inode_setxattr_d1", "inode_setxattr", 6, false},
    {"cgfence_inode_removexattr_d0", "inode_removexattr", 2, false},
    {"cgfence_inode_removexattr_d1", "inode_removexattr", 3, false},
    // The attribute ioctls; 32-bit tasks' own hook from 6.8; file_setattr(2) from 6.17.
    {"cgfence_file_ioctl", "file_ioctl", 3, false},
    {"cgfence_file_ioctl_compat", "file_ioctl_compat", 3, true},
    {"cgfence_inode_file_setattr", "inode_file_setattr", 2, true},
    // 6.2 and later: POSIX ACLs have hooks of their own.
    {"cgfence_inode_set_acl_d1", "inode_set_acl", 4, true},
    {"cgfence_inode_remove_acl_d1", "inode_remove_acl", 3, true},
    // Self-protection. (cmd, attr, size) before 6.14; (..., kernel) after.
    {"cgfence_bpf_map", "bpf_map", 2, false},
    {"cgfence_bpf_prog", "bpf_prog", 1, false},
    {"cgfence_bpf_d0", "bpf", 3, false},
    {"cgfence_bpf_d1", "bpf", 4, false},
    // Marks: inherited at fork; the hash's slot emptied when a task is freed.
    {"cgfence_task_alloc", "task_alloc", 2, false},
    {"cgfence_task_free", "task_free", 1, false, true},
    // overlayfs's credentials (the overlay layer exception).
    {"cgfence_cred_prepare", "cred_prepare", 3, false},
    {"cgfence_cred_alloc_blank", "cred_alloc_blank", 2, false},
    {"cgfence_cred_free", "cred_free", 1, false},
    // Other tasks' insides, and the exec window.
    {"cgfence_ptrace_access_check", "ptrace_access_check", 2, false},
    {"cgfence_ptrace_traceme", "ptrace_traceme", 1, false},
    {"cgfence_file_receive", "file_receive", 1, false},
};

// The parameter count of bpf_lsm_<hook> in the kernel's BTF, or -1.
int hook_arguments(const btf *vmlinux, const std::string &hook)
{
    const std::string function = "bpf_lsm_" + hook;
    int id = btf__find_by_name_kind(vmlinux, function.c_str(), BTF_KIND_FUNC);
    if (id < 0)
        return -1;
    const btf_type *func = btf__type_by_id(vmlinux, static_cast<__u32>(id));
    const btf_type *proto = func ? btf__type_by_id(vmlinux, func->type) : nullptr;
    if (!proto || !btf_is_func_proto(proto))
        return -1;
    return btf_vlen(proto);
}

} // namespace

Result<std::set<std::string>> programs_for_kernel(const btf *vmlinux, MarkStore marks)
{
    std::set<std::string> chosen;
    std::set<std::string> hooks_needed;
    std::set<std::string> hooks_covered;
    for (const Variant &v : kVariants) {
        if (v.hash_marks_only && marks != MarkStore::task_hash)
            continue;
        int arguments = hook_arguments(vmlinux, v.hook);
        if (arguments < 0 && v.optional)
            continue;
        hooks_needed.insert(v.hook);
        if (arguments == static_cast<int>(v.arguments)) {
            chosen.insert(v.program);
            hooks_covered.insert(v.hook);
        }
    }
    for (const std::string &hook : hooks_needed) {
        if (!hooks_covered.contains(hook))
            return logic_error("match LSM hook", hook,
                               "the kernel has no bpf_lsm_" + hook +
                                   " with a prototype this build knows; cgfence supports "
                                   "kernels 5.10 to 7.x");
    }
    return chosen;
}

} // namespace cgfence
