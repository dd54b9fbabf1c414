// What `apply` and `profile learn` act on: one registered container, named by
// its id or cgroup id, and a profile, named as the hook names them or given
// as a file.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "maps.hpp"
#include "profile.hpp"
#include "records.hpp"

namespace cgfence::ctl {

// The record of the container `id` (its whole id, its cgroup id, or a unique
// prefix of its id); an error when none or more than one matches (one id in
// two runtimes: give the cgroup id).
Result<ContainerRecord> select_container(const PinnedMaps &maps, const std::string &id);

// The pinned maps and one container's record in them.
struct SelectedContainer {
    PinnedMaps maps;
    ContainerRecord record;
};
Result<SelectedContainer> open_container(const std::string &pin_dir, const std::string &id);

// The ID positional of the commands that act on one container.
void add_container_id(CLI::App &command, std::string &id);

// Where profiles are found: --profile-dir, else the hook config's profile_dirs.
struct ProfileSource {
    std::string config_path;
    std::vector<std::string> profile_dirs;

    void add_options(CLI::App &command);
    // NAME from the profile directories, or a file when `name` has a '/' in it.
    [[nodiscard]] Result<Profile> load(const std::string &name) const;
};

} // namespace cgfence::ctl
