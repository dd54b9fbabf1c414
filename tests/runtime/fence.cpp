#include "fence.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

#include "container_cgroup.hpp"
#include "kernel_dev.hpp"
#include "mountinfo.hpp"
#include "pins.hpp"
#include "process.hpp"

namespace cgfence::test {
namespace fs = std::filesystem;
using nlohmann::json;

bool in_vm()
{
    const char *flag = std::getenv("CGFENCE_IN_VM");
    return flag != nullptr && std::string(flag) == "1";
}

namespace {

void cgfencectl_or_throw(const std::string &pin_dir, const std::vector<std::string> &args)
{
    std::vector<std::string> argv = {cgfencectl_path(), "--pin-dir", pin_dir};
    argv.insert(argv.end(), args.begin(), args.end());
    const Finished run = run_captured(argv);
    if (run.status != 0)
        throw std::runtime_error("cgfencectl " + args.front() + ": " + summary(run));
}

// In the VM the fences of a run share one load (each load is seconds of
// verifier work under TCG), each with files of its own (config, profiles,
// hooks.d): the tests that use it leave nothing registered. Never unloaded:
// the guest goes away with it.
const std::string &shared_vm_pin_dir()
{
    static const std::string pin_dir = [] {
        std::string dir = "/sys/fs/bpf/cgfence-rt-shared";
        (void)remove_pin_tree(dir); // left by an interrupted run
        cgfencectl_or_throw(dir, {"load"});
        return dir;
    }();
    return pin_dir;
}

} // namespace

Fence::Fence(const std::string &name, Pins pins)
{
    fs::create_directories(files_ / "profiles");
    write_config(base_config());
    if (in_vm() && pins == Pins::loaded) {
        pin_dir_ = shared_vm_pin_dir();
        (void)new_events(); // earlier tests' records: each fence starts with none
        return;
    }
    owns_pins_ = true;
    if (in_vm()) {
        pin_dir_ = "/sys/fs/bpf/cgfence-rt-" + name;
        (void)remove_pin_tree(pin_dir_); // left by an interrupted run
    } else {
        // A private bpffs: nothing the test does reaches a live install.
        fs::create_directories(files_ / "bpffs");
        if (::mount("bpf", (files_ / "bpffs").c_str(), "bpf", 0, nullptr) != 0)
            throw std::runtime_error("mount bpffs: " + std::string(std::strerror(errno)));
        bpffs_mounted_ = true;
        pin_dir_ = (files_ / "bpffs/cgfence").string();
    }
    if (pins == Pins::absent)
        return;
    try {
        if (pins == Pins::maps_only || !in_vm())
            cgfencectl_or_throw(pin_dir_, {"load", "--maps-only"});
        else
            cgfencectl_or_throw(pin_dir_, {"load"});
    } catch (...) {
        if (bpffs_mounted_)
            ::umount2((files_ / "bpffs").c_str(), MNT_DETACH);
        throw;
    }
    loaded_ = true;
}

Fence::~Fence()
{
    try {
        if (loaded_)
            (void)run_captured({cgfencectl_path(), "--pin-dir", pin_dir_, "unload", "--force"});
        if (bpffs_mounted_)
            ::umount2((files_ / "bpffs").c_str(), MNT_DETACH);
        else if (owns_pins_)
            (void)remove_pin_tree(pin_dir_);
    } catch (...) { // cleanup does what it can
    }
}

PinnedMaps Fence::maps() const
{
    auto maps = PinnedMaps::open(PinLayout{pin_dir_});
    if (!maps)
        throw std::runtime_error(maps.error().message());
    return std::move(*maps);
}

json Fence::base_config()
{
    return in_vm() ? json::object() : json{{"on_unavailable", "allow"}};
}

void Fence::write_config(const json &config) const
{
    write_file(files_ / "config.json", config.dump(2) + "\n");
}

void Fence::write_profile(const std::string &name, const json &profile) const
{
    write_file(files_ / "profiles" / (name + ".json"), profile.dump(2) + "\n");
}

void Fence::write_shipped_profile(const std::string &name) const
{
    const fs::path shipped = fs::path(CGFENCE_SOURCE_DIR) / "packaging/profiles" / (name + ".json");
    if (!fs::exists(shipped))
        throw std::runtime_error("no shipped profile " + shipped.string());
    fs::copy_file(shipped, files_ / "profiles" / (name + ".json"));
}

Finished Fence::cgfencectl(const std::vector<std::string> &args) const
{
    std::vector<std::string> argv = {cgfencectl_path(), "--pin-dir", pin_dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_captured(argv);
}

std::vector<nlohmann::json> Fence::new_events(const std::string &container) const
{
    std::vector<std::string> args = {"events", "--json"};
    if (!container.empty())
        args.insert(args.end(), {"--container", container});
    const Finished run = cgfencectl(args);
    if (run.status != 0)
        throw std::runtime_error("cgfencectl events: " + summary(run));
    std::vector<nlohmann::json> events;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);)
        events.push_back(nlohmann::json::parse(line));
    return events;
}

std::vector<nlohmann::json> with_verdict(const std::vector<nlohmann::json> &events,
                                         const std::string &verdict)
{
    std::vector<nlohmann::json> found;
    for (const nlohmann::json &event : events) {
        if (event["verdict"] == verdict)
            found.push_back(event);
    }
    return found;
}

HookCommand Fence::hook() const
{
    return {hook_path(),
            {"cgfence-hook", "--config", (files_ / "config.json").string(), "--pin-dir", pin_dir_,
             "--profile-dir", (files_ / "profiles").string()}};
}

fs::path Fence::hooks_dir() const
{
    fs::path dir = files_ / "hooks.d";
    fs::create_directories(dir);
    const HookCommand command = hook();
    const json file = {{"version", "1.0.0"},
                       {"hook", {{"path", command.path}, {"args", command.args}}},
                       {"when", {{"always", true}}},
                       {"stages", {"prestart", "poststop"}}};
    write_file(dir / "50-cgfence.json", file.dump(2) + "\n");
    return dir;
}

MapEntries map_entries(const PinnedMaps &maps)
{
    MapEntries entries;
    auto keys = [](int fd, const char *name) {
        auto found = map_u64_keys(fd);
        if (!found)
            throw std::runtime_error(std::string("keys of ") + name + ": " +
                                     found.error().message());
        return *found;
    };
    // Key 0 of counters and containers is the orphans', made by `load`: no container's.
    auto containers_only = [](std::vector<uint64_t> ids) {
        std::erase(ids, 0);
        return ids;
    };
    entries.policies = keys(maps.policies.get(), "policies");
    entries.counters = containers_only(keys(maps.counters.get(), "counters"));
    entries.containers = containers_only(keys(maps.containers.get(), "containers"));
    auto records = all_records(maps);
    if (!records)
        throw std::runtime_error("records: " + records.error().message());
    entries.records = *records;
    return entries;
}

uint64_t cgroup_id_of(pid_t pid)
{
    auto path = unified_cgroup_path(std::to_string(pid));
    if (!path)
        throw std::runtime_error(path.error().message());
    const std::string dir = cgroup2_mount() + *path;
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0)
        throw std::runtime_error("stat " + dir + ": " + std::strerror(errno));
    return info.st_ino;
}

std::string rule_text(const ContainerPolicy &policy, const PolicyKey &key)
{
    auto it = policy.rules.find(key);
    if (it == policy.rules.end())
        return "absent";
    const PolicyRule &rule = it->second;
    std::string text;
    if ((rule.access & R) != 0)
        text += 'r';
    if ((rule.access & W) != 0)
        text += 'w';
    if ((rule.access & X) != 0)
        text += 'x';
    if (text.empty())
        text = "-";
    if ((rule.flags & CGFENCE_RULE_NONRECURSIVE) != 0)
        text += " nonrecursive";
    if ((rule.flags & CGFENCE_RULE_MOUNT_BOUNDARY) != 0)
        text += " mount-boundary";
    if ((rule.flags & CGFENCE_RULE_OVERLAY_LAYER) != 0)
        text += " overlay-layer";
    return text;
}

PolicyKey key_from_stat(const std::string &stat_output)
{
    std::istringstream in(stat_output);
    uint64_t ino = 0;
    uint64_t dev = 0;
    if (!(in >> ino >> dev))
        throw std::runtime_error("not `stat -c '%i %d'` output: " + stat_output);
    return PolicyKey{CGFENCE_KEY_INODE, kernel_dev(static_cast<dev_t>(dev)), ino};
}

size_t distinct_mount_roots(const std::string &mountinfo)
{
    auto mounts = parse_mountinfo(mountinfo);
    if (!mounts)
        throw std::runtime_error(mounts.error().message());
    std::set<std::tuple<unsigned int, unsigned int, std::string>> roots;
    for (const MountEntry &m : *mounts)
        roots.emplace(m.major_number, m.minor_number, m.root);
    return roots.size();
}

uint32_t kernel_dev_at(const std::string &mountinfo, const std::string &path)
{
    auto mounts = parse_mountinfo(mountinfo);
    if (!mounts)
        throw std::runtime_error(mounts.error().message());
    auto holds = [&path](const std::string &mount_point) {
        return mount_point == "/" || path == mount_point ||
               (path.size() > mount_point.size() &&
                path.compare(0, mount_point.size(), mount_point) == 0 &&
                path[mount_point.size()] == '/');
    };
    const MountEntry *best = nullptr;
    for (const MountEntry &m : *mounts) {
        if (holds(m.mount_point) && (!best || m.mount_point.size() >= best->mount_point.size()))
            best = &m;
    }
    return best ? kernel_dev(best->major_number, best->minor_number) : 0;
}

} // namespace cgfence::test
