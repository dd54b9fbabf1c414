// Where cgfence pins its maps, programs and links under the pin directory.
//
//   <pin dir>/maps/<map>      every map, kept across upgrades
//   <pin dir>/progs/<prog>    the attached programs
//   <pin dir>/links/<prog>    their LSM links: enforcement lives as long as these pins
//
// An upgrade pins the new links in links-new, swaps directories by rename, and
// unpins links-old: the new programs are attached before the old ones go.
#pragma once

#include <filesystem>
#include <string>

#include "error.hpp"

namespace cgfence {

inline constexpr const char *kDefaultPinDir = "/sys/fs/bpf/cgfence";

struct PinLayout {
    std::filesystem::path root;

    [[nodiscard]] std::filesystem::path maps() const { return root / "maps"; }
    [[nodiscard]] std::filesystem::path map(const std::string &name) const { return maps() / name; }
    [[nodiscard]] std::filesystem::path progs() const { return root / "progs"; }
    [[nodiscard]] std::filesystem::path links() const { return root / "links"; }
    [[nodiscard]] std::filesystem::path staged(const std::filesystem::path &dir) const
    {
        return dir.string() + "-new"; // bpffs refuses names with a dot
    }
    [[nodiscard]] std::filesystem::path retired(const std::filesystem::path &dir) const
    {
        return dir.string() + "-old";
    }
};

// Is `path` on a BPF filesystem?
[[nodiscard]] bool on_bpffs(const std::filesystem::path &path);

// Creates the pin directory (mode 0700) on a BPF filesystem: when the
// directory that would hold it is not bpffs, mounts one at the pin directory.
Status prepare_pin_dir(const std::filesystem::path &dir);

// The number of entries in `dir` (0 when it cannot be read).
[[nodiscard]] size_t count_pins(const std::filesystem::path &dir);

// Unpins every pin below `dir` and removes the directories (idempotent).
Status remove_pin_tree(const std::filesystem::path &dir);

} // namespace cgfence
