// cgfencectl's exit codes (documented in cgfencectl(8) and --help).
#pragma once

namespace cgfence::exit_code {

inline constexpr int ok = 0;
inline constexpr int failed = 1;        // the operation failed; the message says why
inline constexpr int usage = 2;         // bad command line
inline constexpr int not_supported = 3; // this kernel does not run BPF LSM programs
inline constexpr int refused = 4;       // refused to act (e.g. unload with containers)

} // namespace cgfence::exit_code
