#include <doctest/doctest.h>

#include "abi.hpp"
#include "kernel_dev.hpp"

using namespace cgfence;

TEST_CASE("kernel dev encoding is MKDEV, not glibc's makedev")
{
    // FACTS: ext4 on 254:0 has st_dev 0xfe00 in userspace, s_dev 0xfe00000 in the kernel.
    CHECK(kernel_dev(254U, 0U) == 0xfe00000U);
    CHECK(kernel_dev(makedev(254, 0)) == 0xfe00000U);
    CHECK(makedev(254, 0) == 0xfe00U);
    // Anonymous devices (overlay, tmpfs) agree in both encodings: why tmpfs tests hide the bug.
    CHECK(kernel_dev(makedev(0, 42)) == 42U);
    CHECK(kernel_dev(makedev(7, 3)) == ((7U << 20) | 3U));
    // Large minors keep their high bits.
    CHECK(kernel_dev(makedev(259, 0x12345)) == ((259U << 20) | 0x12345U));
}

TEST_CASE("ABI structs have the layout the BPF program uses")
{
    CHECK(sizeof(cgfence_policy_key) == 16);
    CHECK(sizeof(cgfence_policy_value) == 16);
    CHECK(sizeof(cgfence_event) == 136);
    CHECK(offsetof(cgfence_event, name) == 72);
    CHECK(CGFENCE_ACCESS_ALL == (CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE | CGFENCE_ACCESS_EXEC));
}
