// LSM hook prototypes changed inside the supported kernel range (5.10 to 7.x)
// and BPF_PROG arguments are positional: the program ships one variant per
// prototype, and this picks the variants that match the running kernel's BTF.
#pragma once

#include <set>
#include <string>

#include "error.hpp"
#include "kernel_features.hpp"

struct btf;

namespace cgfence {

// The programs to load on the kernel described by `vmlinux` (its BTF), whose
// tasks' marks live in `marks`. Fails when a hook cgfence needs is missing or
// has a prototype no variant fits.
Result<std::set<std::string>> programs_for_kernel(const btf *vmlinux, MarkStore marks);

} // namespace cgfence
