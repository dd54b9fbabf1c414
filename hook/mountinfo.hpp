// /proc/<pid>/mountinfo, parsed: which mount an object is on, what device
// number the kernel gives that mount's superblock, and which mounts a
// container's view holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"

namespace cgfence {

struct MountEntry {
    uint64_t mount_id = 0;
    uint64_t parent_id = 0;
    unsigned int major_number = 0; // of the superblock's s_dev: what BPF sees
    unsigned int minor_number = 0;
    std::string root;        // the mount's root within its filesystem
    std::string mount_point; // where it is mounted, in the reader's root
    std::string options;
    std::string fstype;
    std::string source;
    std::string super_options;
};

// Parses mountinfo text; a malformed line is an error naming its number.
Result<std::vector<MountEntry>> parse_mountinfo(const std::string &text);

// Reads and parses /proc/<pid>/mountinfo ("self" for the caller).
Result<std::vector<MountEntry>> read_mountinfo(const std::string &pid = "self");

// A mount option's value from a comma-separated list ("upperdir" in
// "rw,lowerdir=a:b,upperdir=c"), or empty.
std::string mount_option(const std::string &options, const std::string &name);

} // namespace cgfence
