// The files of a test container: a busybox root filesystem (a plain
// directory, or an overlay mounted from it with the upper layer on a tmpfs of
// its own) and an OCI bundle whose config.json tests edit before a runtime
// reads it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sandbox.hpp"

namespace cgfence::test {

inline constexpr const char *kOsRelease = "NAME=\"cgfence test\"\nID=busybox\n";
inline constexpr const char *kSecret = "for the host only\n";

// The contents of a file ("" when it cannot be read).
std::string read_text(const std::filesystem::path &path);

// A busybox tree at `root`: /bin/busybox and a symlink per applet,
// /etc/os-release, /secret (no rule of the suite's profiles allows it), and
// empty /proc, /dev, /sys and /tmp (mode 1777).
void make_busybox_tree(const std::filesystem::path &root);

// A copy of /bin/busybox at /tmp/busybox in the tree at `root`: a binary
// where the shipped profiles allow no exec.
void add_binary_in_tmp(const std::filesystem::path &root);

// An overlay whose upper and work directories are in dir/layers, either
// - of a busybox tree made at dir/lower (on the test's temp directory's
//   filesystem), the upper and work directories on a tmpfs of their own: two
//   filesystems, as FACTS.md §3 describes; or
// - of the tree at `lower` (left as it is: an overlay never writes its lower
//   layer), the upper and work directories on dir's filesystem, which is the
//   lower's when both are in the temp directory: one filesystem, as container
//   storage keeps an image's layers and a container's.
// Unmounted at the end.
class OverlayRootfs {
  public:
    explicit OverlayRootfs(const std::filesystem::path &dir,
                           const std::filesystem::path &lower = std::filesystem::path());
    OverlayRootfs(const OverlayRootfs &) = delete;
    OverlayRootfs &operator=(const OverlayRootfs &) = delete;
    ~OverlayRootfs();

    std::filesystem::path lower, upper, work, merged;

  private:
    std::filesystem::path layers_; // the tmpfs holding upper and work
    bool layers_mounted_ = false;
    bool merged_mounted_ = false;
};

enum class RootfsKind { plain, overlay };

// An OCI hook as config.json lists it.
struct HookCommand {
    std::string path;
    std::vector<std::string> args;
};

// A bundle directory: rootfs (or an overlay rootfs) and config.json. The
// config starts as a minimal one with a process that sleeps, mounts of
// /proc and a tmpfs /dev only (so the container's mount table is known), no
// masked or read-only paths, and the default capabilities of `runc spec`.
class Bundle {
  public:
    explicit Bundle(RootfsKind kind = RootfsKind::plain);
    // An overlay rootfs over the tree at `lower`, as CRI-O gives a container
    // its image: the image's files read-only below, the container's changes
    // above, on the same filesystem when `lower` is in the temp directory.
    explicit Bundle(const std::filesystem::path &lower);

    [[nodiscard]] const std::filesystem::path &dir() const { return dir_.path(); }
    // The host path of the container's "/".
    [[nodiscard]] std::filesystem::path rootfs() const;
    [[nodiscard]] const OverlayRootfs *overlay() const { return overlay_ ? &*overlay_ : nullptr; }

    Bundle &args(const std::vector<std::string> &argv);
    Bundle &annotate(const std::string &key, const std::string &value);
    // The hook at every stage in `stages` (prestart, createRuntime, poststop, ...).
    Bundle &hook(const HookCommand &command, const std::vector<std::string> &stages);
    Bundle &bind_mount(const std::filesystem::path &host_dir, const std::string &destination);
    // Writes config.json; call after the last change.
    void write() const;

    nlohmann::json config;

  private:
    Bundle(RootfsKind kind, const std::filesystem::path &lower);

    TempDir dir_;
    std::optional<OverlayRootfs> overlay_; // after dir_: unmounted before it is removed
};

// The same in a bundle's rootfs (an overlay's lower layer), before it starts.
void add_binary_in_tmp(const Bundle &bundle);

// A shell script at `path` (absolute, in the container) in the bundle's rootfs, executable.
void add_script(const Bundle &bundle, const std::string &path, const std::string &text);

} // namespace cgfence::test
