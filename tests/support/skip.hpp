// A test that cannot run here says why and is counted as skipped, not passed.
#pragma once

#include <string>

namespace cgfence::test {
void mark_skipped(const std::string &reason);
} // namespace cgfence::test

#define CGFENCE_SKIP(reason)                                                                       \
    do {                                                                                           \
        ::cgfence::test::mark_skipped(reason);                                                     \
        return;                                                                                    \
    } while (0)
