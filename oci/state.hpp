// The OCI state a runtime writes to a hook's stdin, as runc, crun and podman
// really send it (FACTS.md §5): `pid` absent (runc) or 0 (crun) at poststop,
// crun's extra `root`, `ociVersion` "1.0" or "1.0.2-dev".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "error.hpp"

namespace cgfence::oci {

struct State {
    std::string oci_version;
    std::string id;
    std::string status;         // creating, created, running, stopped
    std::optional<int64_t> pid; // absent, or > 0; a 0 is read as absent
    std::string bundle;         // absolute
    std::map<std::string, std::string> annotations;
};

// Upper bound of the state's size; larger input is refused.
inline constexpr size_t kMaxStateBytes = size_t{64} * 1024;

// Parses state JSON. Unknown keys are tolerated; `ociVersion`, `id`, `status`
// and `bundle` must be present strings, `pid` an integer when present,
// `annotations` an object of strings; `id` must be non-empty without '/' or
// NUL (nor "." or ".."); `bundle` absolute. `pid` must fit a pid_t; a null
// optional field counts as absent. Errors are one line and name the field and
// `source` (e.g. "stdin"): Error::message() reads "<source>: <what>".
Result<State> parse_state(const std::string &text, const std::string &source = "stdin");

// Reads all of `fd` (the hook's stdin) up to kMaxStateBytes, waiting at most
// `timeout` for the writer to finish. More than `max_bytes`, or no end of
// input in time (a runtime that keeps the pipe open), is an error.
Result<std::string> read_all(int fd, std::chrono::milliseconds timeout, size_t max_bytes);

} // namespace cgfence::oci
