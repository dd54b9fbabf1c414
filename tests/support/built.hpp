// What every suite shares about the build under test: where its programs are
// (CGFENCE_BIN_DIR) and the access bits rules are written with.
#pragma once

#include <cstdint>
#include <string>

#include "cgfence_abi.h"

namespace cgfence::test {

inline constexpr uint8_t R = CGFENCE_ACCESS_READ;
inline constexpr uint8_t W = CGFENCE_ACCESS_WRITE;
inline constexpr uint8_t X = CGFENCE_ACCESS_EXEC;
inline constexpr uint8_t RWX = CGFENCE_ACCESS_ALL;

// A program of this build: cgfencectl, cgfencectl-next, cgfence-hook, ...
inline std::string built_program(const std::string &name)
{
    return std::string(CGFENCE_BIN_DIR) + "/" + name;
}
inline std::string cgfencectl_path()
{
    return built_program("cgfencectl");
}
inline std::string hook_path()
{
    return built_program("cgfence-hook");
}

} // namespace cgfence::test
