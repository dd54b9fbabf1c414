// What the fuzz targets share: a failed property aborts, so that libFuzzer
// records the input as a crash (an assert would vanish under NDEBUG, which
// RelWithDebInfo sets).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, what)                                                                \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: property failed: %s: %s\n", __FILE__, __LINE__,           \
                         #condition, std::string(what).c_str());                                   \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace cgfence::fuzz {

// The documented form of every error of these parsers: one line (a caller
// logs it to syslog and the runtime's stderr as one).
inline bool one_line(const std::string &message)
{
    return !message.empty() && message.find('\n') == std::string::npos &&
           message.find('\r') == std::string::npos;
}

} // namespace cgfence::fuzz
