// Where a test is listed (tests/support/test_main.cpp filters by it). A test
// whose meaning is enforcement is listed only in the VM, where a kernel runs
// cgfence's programs; one that proves userspace work alone (the hook, the maps,
// cgfencectl) is listed only on the host, where it is fast, and the VM does not
// repeat it. A test with neither runs in both.
#pragma once

#include <doctest/doctest.h>

namespace cgfence::test {
inline constexpr const char *kVmOnly = "vm-only";
inline constexpr const char *kHostOnly = "host-only";
} // namespace cgfence::test

// TEST_CASE("..." * CGFENCE_VM_ONLY)
#define CGFENCE_VM_ONLY doctest::test_suite(::cgfence::test::kVmOnly)
#define CGFENCE_HOST_ONLY doctest::test_suite(::cgfence::test::kHostOnly)
