// The OCI state parser (what a runtime writes to the hook's stdin): it must
// never crash, and what it accepts must hold the documented properties, since
// the hook uses `id` as a record name and `bundle` as a path.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <sys/types.h>

#include "fuzz_check.hpp"
#include "state.hpp"

using cgfence::fuzz::one_line;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The hook refuses larger input before parsing it.
    if (size > cgfence::oci::kMaxStateBytes)
        return -1;
    const std::string text(reinterpret_cast<const char *>(data), size);
    auto state = cgfence::oci::parse_state(text, "stdin");
    if (!state) {
        const std::string message = state.error().message();
        FUZZ_CHECK(one_line(message), message);
        FUZZ_CHECK(message.rfind("stdin: ", 0) == 0, message);
        return 0;
    }
    const std::string &id = state->id;
    FUZZ_CHECK(!id.empty() && id != "." && id != "..", id);
    FUZZ_CHECK(id.find('/') == std::string::npos && id.find('\0') == std::string::npos, id);
    FUZZ_CHECK(state->status == "creating" || state->status == "created" ||
                   state->status == "running" || state->status == "stopped",
               state->status);
    FUZZ_CHECK(!state->bundle.empty() && state->bundle[0] == '/', state->bundle);
    FUZZ_CHECK(state->bundle.find('\0') == std::string::npos, state->bundle);
    if (state->pid)
        FUZZ_CHECK(*state->pid > 0 && *state->pid <= std::numeric_limits<pid_t>::max(),
                   std::to_string(*state->pid));
    return 0;
}
