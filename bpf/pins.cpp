#include "pins.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <system_error>

namespace cgfence {
namespace fs = std::filesystem;

namespace {
constexpr long kBpfFsMagic = 0xcafe4a11;
}

bool on_bpffs(const fs::path &path)
{
    struct statfs info {};
    return ::statfs(path.c_str(), &info) == 0 && info.f_type == kBpfFsMagic;
}

Status prepare_pin_dir(const fs::path &dir)
{
    // /sys/fs/bpf is where the kernel offers bpffs; systemd mounts it at boot,
    // other inits may not. sysfs cannot hold a directory of ours, so mount
    // bpffs there first, as systemd would.
    const fs::path standard_mount = "/sys/fs/bpf";
    if (dir.parent_path() == standard_mount && !on_bpffs(standard_mount)) {
        if (::mount("bpf", standard_mount.c_str(), "bpf", 0, "mode=0700") != 0)
            return Error{"mount bpffs at", standard_mount, errno,
                         "the pin directory must be on a BPF filesystem"};
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return system_error("create pin directory", dir, ec.value());
    if (!on_bpffs(dir)) {
        if (::mount("bpf", dir.c_str(), "bpf", 0, "mode=0700") != 0)
            return Error{"mount bpffs at", dir, errno,
                         "the pin directory must be on a BPF filesystem"};
    }
    if (::chmod(dir.c_str(), 0700) != 0)
        return system_error("chmod 0700", dir);
    for (const fs::path &sub : {dir / "maps", dir / "progs", dir / "links"}) {
        if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST)
            return system_error("create pin directory", sub);
    }
    return {};
}

size_t count_pins(const fs::path &dir)
{
    std::error_code ec;
    size_t count = 0;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it)
        count++;
    return count;
}

Status remove_pin_tree(const fs::path &dir)
{
    std::error_code ec;
    if (!fs::exists(dir, ec))
        return {};
    fs::remove_all(dir, ec);
    if (ec)
        return system_error("remove pins under", dir, ec.value());
    return {};
}

} // namespace cgfence
