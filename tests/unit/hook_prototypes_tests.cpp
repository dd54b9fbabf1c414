#include <doctest/doctest.h>

#include <bpf/btf.h>
#include <memory>
#include <vector>

#include "hook_prototypes.hpp"
#include "kernel_features.hpp"

using namespace cgfence;

namespace {

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

// A BTF with bpf_lsm_<hook> functions of the given parameter counts, as a
// kernel of that era describes them.
BtfPtr kernel_btf(const std::vector<std::pair<std::string, int>> &hooks)
{
    BtfPtr b(btf__new_empty(), btf__free);
    int int_type = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
    for (const auto &[hook, arguments] : hooks) {
        int proto = btf__add_func_proto(b.get(), int_type);
        for (int i = 0; i < arguments; i++)
            btf__add_func_param(b.get(), ("a" + std::to_string(i)).c_str(), int_type);
        btf__add_func(b.get(), ("bpf_lsm_" + hook).c_str(), BTF_FUNC_GLOBAL, proto);
    }
    return b;
}

const std::vector<std::pair<std::string, int>> common_hooks = {{"file_open", 1},
                                                               {"bprm_check_security", 1},
                                                               {"bprm_committing_creds", 1},
                                                               {"mmap_file", 4},
                                                               {"file_mprotect", 3},
                                                               {"inode_create", 3},
                                                               {"inode_mknod", 4},
                                                               {"inode_mkdir", 3},
                                                               {"inode_symlink", 3},
                                                               {"inode_unlink", 2},
                                                               {"inode_rmdir", 2},
                                                               {"inode_link", 3},
                                                               {"inode_rename", 4},
                                                               {"bpf_map", 2},
                                                               {"bpf_prog", 1},
                                                               {"task_alloc", 2},
                                                               {"task_free", 1},
                                                               {"ptrace_access_check", 2},
                                                               {"ptrace_traceme", 1},
                                                               {"file_receive", 1},
                                                               {"file_ioctl", 3},
                                                               {"cred_prepare", 3},
                                                               {"cred_alloc_blank", 2},
                                                               {"cred_free", 1}};

} // namespace

TEST_CASE("5.10 prototypes pick the dentry-first variants and no ACL hooks")
{
    auto hooks = common_hooks;
    hooks.insert(
        hooks.end(),
        {{"inode_setattr", 2}, {"inode_setxattr", 5}, {"inode_removexattr", 2}, {"bpf", 3}});
    auto chosen = programs_for_kernel(kernel_btf(hooks).get(), MarkStore::task_hash);
    REQUIRE(chosen.ok());
    CHECK(chosen->contains("cgfence_task_free")); // the hash's slots are emptied
    CHECK(chosen->contains("cgfence_inode_setattr_d0"));
    CHECK(chosen->contains("cgfence_bpf_d0"));
    CHECK(chosen->contains("cgfence_bpf_map"));
    CHECK(chosen->contains("cgfence_bpf_prog"));
    CHECK(chosen->contains("cgfence_inode_setxattr_d0"));
    CHECK(chosen->contains("cgfence_inode_removexattr_d0"));
    CHECK_FALSE(chosen->contains("cgfence_inode_setattr_d1"));
    CHECK_FALSE(chosen->contains("cgfence_inode_set_acl_d1"));
    CHECK(chosen->contains("cgfence_bprm_committing_creds"));
    CHECK(chosen->contains("cgfence_file_ioctl"));
    CHECK_FALSE(chosen->contains("cgfence_file_ioctl_compat"));
    CHECK_FALSE(chosen->contains("cgfence_inode_file_setattr"));
    CHECK(chosen->contains("cgfence_cred_free")); // overlay_creds forgets freed creds
    CHECK(chosen->size() == 28);
}

TEST_CASE("6.17 and later prototypes pick the idmap-first variants, the ACL hooks, the 32-bit "
          "ioctl hook, file_setattr's hook and bpf with four parameters")
{
    auto hooks = common_hooks;
    hooks.insert(hooks.end(), {{"inode_setattr", 3},
                               {"inode_setxattr", 6},
                               {"inode_removexattr", 3},
                               {"inode_set_acl", 4},
                               {"inode_remove_acl", 3},
                               {"file_ioctl_compat", 3},
                               {"inode_file_setattr", 2},
                               {"bpf", 4}});
    auto chosen = programs_for_kernel(kernel_btf(hooks).get(), MarkStore::task_storage);
    REQUIRE(chosen.ok());
    CHECK_FALSE(chosen->contains("cgfence_task_free")); // task storage frees itself
    CHECK(chosen->contains("cgfence_task_alloc"));
    CHECK(chosen->contains("cgfence_bpf_d1"));
    CHECK_FALSE(chosen->contains("cgfence_bpf_d0"));
    CHECK(chosen->contains("cgfence_inode_setattr_d1"));
    CHECK(chosen->contains("cgfence_inode_set_acl_d1"));
    CHECK(chosen->contains("cgfence_inode_remove_acl_d1"));
    CHECK(chosen->contains("cgfence_file_ioctl_compat"));
    CHECK(chosen->contains("cgfence_inode_file_setattr"));
    CHECK(chosen->contains("cgfence_cred_prepare"));
    CHECK(chosen->size() == 31);
}

TEST_CASE("an unknown prototype is refused, naming the hook")
{
    auto hooks = common_hooks;
    hooks.insert(
        hooks.end(),
        {{"inode_setattr", 4}, {"inode_setxattr", 6}, {"inode_removexattr", 3}, {"bpf", 3}});
    auto chosen = programs_for_kernel(kernel_btf(hooks).get(), MarkStore::task_storage);
    REQUIRE_FALSE(chosen.ok());
    CHECK(chosen.error().object == "inode_setattr");
}

TEST_CASE("the running kernel's BTF has every hook cgfence needs")
{
    auto vmlinux = load_kernel_btf();
    REQUIRE_MESSAGE(vmlinux.ok(), (vmlinux.ok() ? "" : vmlinux.error().message()));
    auto chosen = programs_for_kernel(vmlinux->get(), mark_store_for_kernel(vmlinux->get()));
    REQUIRE_MESSAGE(chosen.ok(), (chosen.ok() ? "" : chosen.error().message()));
    CHECK(chosen->size() >= 20);
}

namespace {

// A BTF with the functions and per-CPU variables named, as a kernel has them.
BtfPtr kernel_with(const std::vector<std::string> &functions,
                   const std::vector<std::string> &variables)
{
    BtfPtr b(btf__new_empty(), btf__free);
    int int_type = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
    int proto = btf__add_func_proto(b.get(), int_type);
    for (const auto &name : functions)
        btf__add_func(b.get(), name.c_str(), BTF_FUNC_STATIC, proto);
    for (const auto &name : variables)
        btf__add_var(b.get(), name.c_str(), BTF_VAR_STATIC, int_type);
    return b;
}

} // namespace

TEST_CASE("marks live in task storage only where LSM programs' lookups cannot miss")
{
    // 5.10: no task storage.
    CHECK(mark_store_for_kernel(kernel_with({}, {}).get()) == MarkStore::task_hash);
    // 6.1: the busy count, no helper without it, no bpf_task_from_pid.
    CHECK(mark_store_for_kernel(
              kernel_with({"bpf_task_storage_get"}, {"bpf_task_storage_busy"}).get()) ==
          MarkStore::task_hash);
    // 5.11 to 6.1 whose BTF lacks per-CPU variables: no evidence of 6.2.
    CHECK(mark_store_for_kernel(kernel_with({"bpf_task_storage_get"}, {}).get()) ==
          MarkStore::task_hash);
    // 6.12: a _recur helper for tracing; LSM programs get one without the check.
    CHECK(mark_store_for_kernel(kernel_with({"bpf_task_storage_get", "bpf_task_storage_get_recur",
                                             "bpf_task_from_pid"},
                                            {"bpf_task_storage_busy"})
                                    .get()) == MarkStore::task_storage);
    // 7.x: no busy count at all.
    CHECK(mark_store_for_kernel(
              kernel_with({"bpf_task_storage_get", "bpf_task_from_pid"}, {}).get()) ==
          MarkStore::task_storage);
    // No BTF: maps only, in the hash.
    CHECK(mark_store_for_kernel(nullptr) == MarkStore::task_hash);
}
