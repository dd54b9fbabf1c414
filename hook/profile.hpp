// Profiles: which paths and filesystem types a container may read, write and
// execute. JSON, one file per profile (NAME.json), documented in
// cgfence-profile(5):
//
//   {
//     "mode": "enforce",            // enforce | audit | learn (optional, default enforce)
//     "default": "deny",            // allow | deny (required)
//     "rules": [                    // optional
//       {"path": "/usr", "access": "rx"},
//       {"path": "/", "access": "r", "recursive": false},
//       {"fs": "proc", "access": "r"},
//       {"path": "/etc/shadow", "access": ""}
//     ]
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"

namespace cgfence {

enum class ProfileMode { enforce, audit, learn };

struct ProfileRule {
    std::string path; // absolute, normalized (no "." or ".." or "//"); empty for fs rules
    std::string fs;   // filesystem type name (proc, sysfs, tmpfs, ...); empty for path rules
    uint64_t fs_magic = 0;
    uint8_t access = 0; // CGFENCE_ACCESS_* bits
    bool recursive = true;
    int line = 0; // where the rule starts in the file, for messages
};

struct Profile {
    std::string name;
    ProfileMode mode = ProfileMode::enforce;
    bool default_allow = false;
    std::vector<ProfileRule> rules;
    std::vector<std::string> warnings; // accepted, but worth saying (e.g. x without r)
};

// Valid profile names: [A-Za-z0-9._-]+, not "." or "..".
bool valid_profile_name(const std::string &name);

// Parses and validates a profile. Rejects unknown keys, bad access letters
// (only r, w, x, each at most once), relative paths, "." / ".." components,
// rules with both or neither of path and fs, unknown filesystem types,
// duplicate rules (same path or same fs), "recursive" on fs rules, and path
// rules under /proc/<pid> or /proc/self (inode numbers there are not stable;
// FACTS.md §8) or /proc/sys. Every error message is one line:
// "<source>:<line>: <what is wrong> (<how to fix>)".
Result<Profile> parse_profile(const std::string &text, const std::string &source,
                              const std::string &name = "");

// Every problem of a profile, in file order, for `cgfencectl profile check`;
// parse_profile reports the first.
struct ProfileCheck {
    Profile profile;                 // complete only when errors is empty
    std::vector<std::string> errors; // "<source>:<line>: <what is wrong> (<how to fix>)"
};
ProfileCheck check_profile(const std::string &text, const std::string &source,
                           const std::string &name = "");

// The text of a profile file: a regular file of at most 1 MiB. Symlinks are
// followed: profiles are the administrator's files.
Result<std::string> read_profile_file(const std::string &path);

// Loads NAME.json from the first directory of `dirs` that has it.
Result<Profile> load_profile(const std::string &name, const std::vector<std::string> &dirs);

// The superblock magic of a filesystem type name, if known.
std::optional<uint64_t> filesystem_magic(const std::string &fs);

// The first filesystem type name with this superblock magic, if known.
std::optional<std::string> filesystem_name(uint64_t magic);

// A profile as a file: strict JSON, one rule per line, "recursive" written
// only when false. parse_profile reads back the same profile.
std::string profile_json(const Profile &profile);

// "rwx"-style text of access bits.
std::string access_text(uint8_t access);

const char *mode_name(ProfileMode mode);

} // namespace cgfence
