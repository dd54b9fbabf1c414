// dev_t as the kernel encodes it (FACTS: userspace st_dev differs).
#pragma once

#include <cstdint>
#include <sys/sysmacros.h>
#include <sys/types.h>

namespace cgfence {

// The kernel's MKDEV(major, minor): what a BPF program reads in sb->s_dev.
constexpr uint32_t kernel_dev(unsigned int major_number, unsigned int minor_number)
{
    return (major_number << 20) | (minor_number & 0xfffffU);
}

// glibc's st_dev (makedev encoding) to the kernel's.
inline uint32_t kernel_dev(dev_t userspace_dev)
{
    return kernel_dev(major(userspace_dev), minor(userspace_dev));
}

} // namespace cgfence
