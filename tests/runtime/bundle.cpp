#include "bundle.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>

#include "process.hpp"

namespace cgfence::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The applets of the host's busybox-static, listed once.
const std::vector<std::string> &busybox_applets()
{
    static const std::vector<std::string> applets = [] {
        const Finished list = run_captured({"busybox", "--list"});
        if (list.status != 0)
            throw std::runtime_error("busybox --list: " + summary(list));
        std::vector<std::string> names;
        std::istringstream lines(list.out);
        for (std::string name; std::getline(lines, name);) {
            if (!name.empty() && name != "busybox")
                names.push_back(name);
        }
        return names;
    }();
    return applets;
}

fs::path busybox_binary()
{
    const Finished which = run_captured({"sh", "-c", "command -v busybox"});
    if (which.status != 0 || which.out.empty())
        throw std::runtime_error("busybox not found (Debian package busybox-static)");
    return fs::canonical(which.out.substr(0, which.out.find('\n')));
}

void mount_or_throw(const char *source, const fs::path &target, const char *type,
                    const std::string &options)
{
    if (::mount(source, target.c_str(), type, 0, options.c_str()) != 0)
        throw std::runtime_error("mount " + std::string(type) + " on " + target.string() + ": " +
                                 std::strerror(errno));
}

json default_capabilities()
{
    const json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    return {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}};
}

} // namespace

std::string read_text(const fs::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void make_busybox_tree(const fs::path &root)
{
    static const fs::path busybox = busybox_binary();
    for (const char *dir : {"bin", "etc", "proc", "dev", "sys", "tmp"})
        fs::create_directories(root / dir);
    ::chmod((root / "tmp").c_str(), 01777);
    fs::copy_file(busybox, root / "bin/busybox");
    ::chmod((root / "bin/busybox").c_str(), 0755);
    for (const std::string &applet : busybox_applets())
        fs::create_symlink("busybox", root / "bin" / applet);
    write_file(root / "etc/os-release", kOsRelease);
    write_file(root / "secret", kSecret, 0644);
}

void add_binary_in_tmp(const fs::path &root)
{
    fs::copy_file(root / "bin/busybox", root / "tmp/busybox");
    ::chmod((root / "tmp/busybox").c_str(), 0755);
}

void add_binary_in_tmp(const Bundle &bundle)
{
    add_binary_in_tmp(bundle.overlay() ? bundle.overlay()->lower : bundle.rootfs());
}

void add_script(const Bundle &bundle, const std::string &path, const std::string &text)
{
    write_file(bundle.rootfs() / path.substr(1), "#!/bin/sh\n" + text, 0755);
}

OverlayRootfs::OverlayRootfs(const fs::path &dir, const fs::path &lower_tree)
    : lower(lower_tree.empty() ? dir / "lower" : lower_tree), merged(dir / "merged"),
      layers_(dir / "layers")
{
    fs::create_directories(layers_);
    fs::create_directories(merged);
    if (lower_tree.empty()) {
        make_busybox_tree(lower);
        mount_or_throw("cgfence-layers", layers_, "tmpfs", "mode=0755");
        layers_mounted_ = true;
    }
    upper = layers_ / "upper";
    work = layers_ / "work";
    fs::create_directories(upper);
    fs::create_directories(work);
    (void)run_captured({"modprobe", "-q", "overlay"}); // built in, or already loaded, elsewhere
    mount_or_throw("overlay", merged, "overlay",
                   "lowerdir=" + lower.string() + ",upperdir=" + upper.string() +
                       ",workdir=" + work.string());
    merged_mounted_ = true;
}

OverlayRootfs::~OverlayRootfs()
{
    if (merged_mounted_)
        ::umount2(merged.c_str(), MNT_DETACH);
    if (layers_mounted_)
        ::umount2(layers_.c_str(), MNT_DETACH);
}

Bundle::Bundle(RootfsKind kind) : Bundle(kind, fs::path()) {}

Bundle::Bundle(const fs::path &lower) : Bundle(RootfsKind::overlay, lower) {}

Bundle::Bundle(RootfsKind kind, const fs::path &lower)
{
    std::string root_path = "rootfs";
    if (kind == RootfsKind::overlay) {
        overlay_.emplace(dir() / "overlay", lower);
        root_path = overlay_->merged.string();
    } else {
        make_busybox_tree(dir() / "rootfs");
    }
    config = {
        {"ociVersion", "1.0.2"},
        {"process",
         {{"terminal", false},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sleep", "3600"}},
          {"env", {"PATH=/bin", "TERM=dumb"}},
          {"cwd", "/"},
          {"capabilities", default_capabilities()},
          {"noNewPrivileges", true}}},
        {"root", {{"path", root_path}, {"readonly", false}}},
        {"hostname", "cgfence-test"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}}}},
        {"linux",
         {{"namespaces",
           {{{"type", "pid"}},
            {{"type", "network"}},
            {{"type", "ipc"}},
            {{"type", "uts"}},
            {{"type", "mount"}}}}}},
    };
}

fs::path Bundle::rootfs() const
{
    return overlay_ ? overlay_->merged : dir() / "rootfs";
}

Bundle &Bundle::args(const std::vector<std::string> &argv)
{
    config["process"]["args"] = argv;
    return *this;
}

Bundle &Bundle::annotate(const std::string &key, const std::string &value)
{
    config["annotations"][key] = value;
    return *this;
}

Bundle &Bundle::hook(const HookCommand &command, const std::vector<std::string> &stages)
{
    for (const std::string &stage : stages)
        config["hooks"][stage].push_back({{"path", command.path}, {"args", command.args}});
    return *this;
}

Bundle &Bundle::bind_mount(const fs::path &host_dir, const std::string &destination)
{
    fs::create_directories(rootfs() / destination.substr(1));
    config["mounts"].push_back({{"destination", destination},
                                {"type", "bind"},
                                {"source", host_dir.string()},
                                {"options", {"rbind", "rw"}}});
    return *this;
}

void Bundle::write() const
{
    write_file(dir() / "config.json", config.dump(2) + "\n");
}

} // namespace cgfence::test
