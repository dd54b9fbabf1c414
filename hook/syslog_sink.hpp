// Where the hook's messages go: syslog (identifier cgfence-hook) when a
// syslog socket exists, else stderr; errors, and everything under --debug,
// also to stderr (runtimes show a hook's stderr only when it fails).
#pragma once

#include "log.hpp"

namespace cgfence {

log::Sink hook_log_sink(bool debug);

} // namespace cgfence
