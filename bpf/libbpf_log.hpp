// libbpf's messages go to our log at debug level, and are kept so that a
// failed load can show them (the verifier log) while a good one stays quiet.
#pragma once

#include <string>

namespace cgfence::libbpf_log {

// Routes libbpf's output here; call once before using libbpf.
void install();

// What libbpf printed since the last call (the tail, bounded), then forgets it.
std::string take();

} // namespace cgfence::libbpf_log
