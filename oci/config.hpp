// What the hook needs of a bundle's config.json.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "error.hpp"

namespace cgfence::oci {

struct Mount {
    std::string destination; // absolute, in the container's view (a relative one gets a '/')
    std::string type;
    std::string source;
    std::vector<std::string> options;
};

struct Config {
    std::string oci_version;
    std::string root_path; // root.path resolved against the bundle: absolute
    bool root_readonly = false;
    std::map<std::string, std::string> annotations;
    std::vector<Mount> mounts;
    std::string cgroups_path; // linux.cgroupsPath, may be empty
};

inline constexpr size_t kMaxConfigBytes = size_t{4} * 1024 * 1024;

// Parses config.json text. `root.path` is required (a string; relative paths
// are taken relative to `bundle`, which must be absolute); everything else
// optional with types checked (null counts as absent); path fields must hold
// no NUL. Errors name the field and `source` (the file's path).
Result<Config> parse_config(const std::string &text, const std::string &bundle,
                            const std::string &source);

// Reads <bundle>/config.json: a regular file (not a symlink), at most
// kMaxConfigBytes, then parses it.
Result<Config> read_config(const std::string &bundle);

} // namespace cgfence::oci
