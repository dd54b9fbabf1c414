#include "loader.hpp"

#include <algorithm>
#include <array>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.hpp" // before the skeleton, whose .bss names ABI types
#include "cgfence_bpf.skel.h"
#include "cgfence_probe.skel.h"
#include "hook_prototypes.hpp"
#include "kernel_dev.hpp"
#include "kernel_features.hpp"
#include "libbpf_log.hpp"
#include "log.hpp"
#include "maps.hpp"
#include "policy.hpp"
#include "task_marks.hpp"
#include "unique_fd.hpp"

namespace cgfence {
namespace fs = std::filesystem;

namespace {

struct SkeletonDeleter {
    void operator()(cgfence_bpf *skel) const { cgfence_bpf__destroy(skel); }
    void operator()(cgfence_probe *skel) const { cgfence_probe__destroy(skel); }
};
using Skeleton = std::unique_ptr<cgfence_bpf, SkeletonDeleter>;
using ProbeSkeleton = std::unique_ptr<cgfence_probe, SkeletonDeleter>;

struct LinkDeleter {
    void operator()(bpf_link *link) const { bpf_link__destroy(link); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

std::string active_lsms()
{
    std::ifstream in("/sys/kernel/security/lsm");
    std::string list;
    std::getline(in, list);
    return list.empty() ? "unknown (is securityfs mounted?)" : list;
}

// The libbpf messages of a failed step, for the error's detail.
std::string with_libbpf_log(std::string detail)
{
    std::string log = libbpf_log::take();
    if (log.empty())
        return detail;
    return detail + (detail.empty() ? "" : "\n") + "libbpf said:\n" + log;
}

Status check_map_shape(bpf_map *expected, int pinned_fd, const fs::path &pin)
{
    auto shape = map_shape(pinned_fd);
    if (!shape)
        return shape.error();
    if (shape->type != bpf_map__type(expected) || shape->key_size != bpf_map__key_size(expected) ||
        shape->value_size != bpf_map__value_size(expected) ||
        shape->max_entries != bpf_map__max_entries(expected))
        return logic_error("reuse pinned map", pin,
                           "its layout differs from this build's; a newer cgfence changed the map "
                           "layout. Run `cgfencectl unload --force` (ends every container's "
                           "enforcement) and load again");
    return {};
}

// Takes over the maps already pinned (their entries are the containers'
// policies); the names of the reused ones.
Result<std::vector<std::string>> reuse_pinned_maps(bpf_object *object, const PinLayout &pins)
{
    std::vector<std::string> reused;
    for (const char *name : kMapNames) {
        bpf_map *map = bpf_object__find_map_by_name(object, name);
        if (!map)
            return logic_error("find map in BPF object", name, "the build is inconsistent");
        const fs::path pin = pins.map(name);
        UniqueFd fd(bpf_obj_get(pin.c_str()));
        if (!fd) {
            if (errno == ENOENT)
                continue;
            return system_error("open pinned map", pin);
        }
        if (auto status = check_map_shape(map, fd.get(), pin); !status)
            return status.error();
        if (std::string(name) == "meta") {
            cgfence_meta meta{};
            uint32_t zero = 0;
            // ABI version 0: an interrupted first load that never wrote meta.
            if (bpf_map_lookup_elem(fd.get(), &zero, &meta) == 0 && meta.abi_version != 0 &&
                meta.abi_version != CGFENCE_ABI_VERSION)
                return logic_error("reuse pinned maps", pins.root,
                                   "they hold ABI version " + std::to_string(meta.abi_version) +
                                       ", this build uses " + std::to_string(CGFENCE_ABI_VERSION) +
                                       ". Run `cgfencectl unload --force` and load again");
        }
        if (bpf_map__reuse_fd(map, fd.get()) != 0)
            return system_error("reuse pinned map", pin);
        reused.push_back(name);
    }
    return reused;
}

std::optional<cgfence_meta> pinned_meta(const PinLayout &pins)
{
    UniqueFd fd(bpf_obj_get(pins.map("meta").c_str()));
    cgfence_meta meta{};
    uint32_t zero = 0;
    if (!fd || bpf_map_lookup_elem(fd.get(), &zero, &meta) != 0)
        return std::nullopt;
    return meta;
}

// Moves `staged` into place as `live`, retiring what was there; only then
// are the retired pins removed (for links: the old programs detach).
Status swap_pin_dir(const PinLayout &pins, const fs::path &live)
{
    const fs::path staged = pins.staged(live);
    const fs::path retired = pins.retired(live);
    if (auto status = remove_pin_tree(retired); !status)
        return status;
    if (::rename(live.c_str(), retired.c_str()) != 0 && errno != ENOENT)
        return system_error("retire pins", live);
    if (::rename(staged.c_str(), live.c_str()) != 0)
        return system_error("install pins", staged);
    return remove_pin_tree(retired);
}

// The programs that keep marks: hand them on to new tasks, free them, end an
// exec's window.
constexpr std::array<std::string_view, 3> kMarkPrograms = {
    "cgfence_task_alloc", "cgfence_task_free", "cgfence_bprm_committing_creds"};
constexpr const char *kMarkRunningProgram = "cgfence_mark_running";

// Attaches every loaded LSM program, pins it and its link beside the live ones,
// then swaps them in. Both builds enforce until the swap retires the old
// links: there is no moment without enforcement.
Result<std::vector<std::string>> attach_and_pin(bpf_object *object, const PinLayout &pins)
{
    const fs::path staged_links = pins.staged(pins.links());
    const fs::path staged_progs = pins.staged(pins.progs());
    for (const fs::path &dir : {staged_links, staged_progs}) {
        if (auto status = remove_pin_tree(dir); !status)
            return status.error();
        if (::mkdir(dir.c_str(), 0700) != 0)
            return system_error("create pin directory", dir);
    }
    // The programs that keep marks go first: a task armed by the others is
    // never without them (nor left in its exec's window).
    std::vector<bpf_program *> order;
    bpf_program *each = nullptr;
    bpf_object__for_each_program(each, object)
    {
        if (bpf_program__autoload(each) && bpf_program__expected_attach_type(each) == BPF_LSM_MAC)
            order.push_back(each);
    }
    std::stable_partition(order.begin(), order.end(), [](bpf_program *p) {
        return std::ranges::find(kMarkPrograms, bpf_program__name(p)) != kMarkPrograms.end();
    });
    std::vector<std::string> attached;
    for (bpf_program *program : order) {
        const std::string name = bpf_program__name(program);
        // The link's pin keeps it attached after this process closes it.
        Link link(bpf_program__attach_lsm(program));
        if (!link)
            return Error{"attach LSM program", name, errno, with_libbpf_log("")};
        if (bpf_link__pin(link.get(), (staged_links / name).c_str()) != 0)
            return system_error("pin link", staged_links / name);
        if (bpf_program__pin(program, (staged_progs / name).c_str()) != 0)
            return system_error("pin program", staged_progs / name);
        attached.push_back(name);
    }
    for (const fs::path &dir : {pins.links(), pins.progs()}) {
        if (auto status = swap_pin_dir(pins, dir); !status)
            return status.error();
    }
    return attached;
}

// The programs of the links pinned in `dir`.
std::vector<uint32_t> linked_program_ids(const fs::path &dir)
{
    std::vector<uint32_t> ids;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) {
        UniqueFd link(bpf_obj_get(it->path().c_str()));
        bpf_link_info info{};
        uint32_t length = sizeof(info);
        if (link && bpf_obj_get_info_by_fd(link.get(), &info, &length) == 0)
            ids.push_back(info.prog_id);
    }
    return ids;
}

// A link whose last pin is gone is freed asynchronously, its id first and its
// program detached after; a program's id goes once it is detached from its
// last link. Returns once none of the programs `ids` exists (bounded).
Status wait_until_detached(const std::vector<uint32_t> &ids)
{
    constexpr int kAttempts = 1000; // 10 s
    for (int attempt = 0; attempt < kAttempts; attempt++) {
        bool any_left = false;
        for (uint32_t id : ids) {
            UniqueFd program(bpf_prog_get_fd_by_id(id));
            any_left = any_left || program.valid();
        }
        if (!any_left)
            return {};
        ::usleep(10000);
    }
    return logic_error("wait for LSM links to detach", "", "still attached after 10 s");
}

uint64_t fnv1a(const void *data, size_t size)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    const auto *bytes = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

uint64_t realtime_ns()
{
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000ULL + static_cast<uint64_t>(now.tv_nsec);
}

} // namespace

Status probe_bpf_lsm()
{
    libbpf_log::take();
    ProbeSkeleton skel(cgfence_probe__open_and_load());
    if (!skel) {
        int err = errno;
        return Error{"load a BPF LSM program", "(probe)", err,
                     with_libbpf_log("this kernel does not run BPF LSM programs. Active LSMs: " +
                                     active_lsms() +
                                     ". Needs CONFIG_BPF_LSM=y and \"bpf\" in the lsm= boot "
                                     "parameter (e.g. lsm=lockdown,capability,yama,apparmor,bpf)")};
    }
    if (cgfence_probe__attach(skel.get()) != 0) {
        int err = errno;
        return Error{"attach a BPF LSM program", "(probe)", err,
                     with_libbpf_log("this kernel does not run BPF LSM programs. Active LSMs: " +
                                     active_lsms() + ". Add \"bpf\" to the lsm= boot parameter")};
    }
    return {};
}

uint64_t this_build_id()
{
    size_t size = 0;
    const void *bytes = cgfence_bpf__elf_bytes(&size);
    return fnv1a(bytes, size);
}

Result<LoadReport> load(const LoadOptions &options)
{
    const PinLayout &pins = options.pins;
    LoadReport report;
    report.build_id = this_build_id();
    libbpf_log::take();

    if (auto status = prepare_pin_dir(pins.root); !status)
        return status.error();
    const std::optional<cgfence_meta> before = pinned_meta(pins);

    // Without BTF only maps can be loaded: they keep marks in the hash.
    load_overlayfs(); // before the program: it reads overlayfs's types from their BTF
    auto vmlinux = load_kernel_btf();
    if (!vmlinux && !options.maps_only)
        return vmlinux.error();
    const MarkStore marks = mark_store_for_kernel(vmlinux ? vmlinux->get() : nullptr);
    report.marks = marks;
    std::set<std::string> wanted;
    if (!options.maps_only) {
        auto chosen = programs_for_kernel(vmlinux->get(), marks);
        if (!chosen)
            return chosen.error();
        wanted = std::move(*chosen);
        report.warnings = kernel_caveats(vmlinux->get());
    }
    const bool programs_live =
        before && !(before->flags & CGFENCE_META_MAPS_ONLY) && count_pins(pins.links()) > 0;
    if (before && (options.maps_only || (before->build_id == report.build_id && programs_live &&
                                         count_pins(pins.links()) == wanted.size()))) {
        // Same build already in place, or maps wanted and already there: a
        // second load changes nothing (and --maps-only never unloads programs).
        report.outcome = LoadOutcome::unchanged;
        return report;
    }

    Skeleton skel(cgfence_bpf__open());
    if (!skel)
        return Error{"open BPF object", "cgfence", errno, with_libbpf_log("")};
    bpf_program *program = nullptr;
    bpf_object__for_each_program(program, skel->obj)
    {
        const std::string name = bpf_program__name(program);
        // The iterator runs once, below; it is not attached or pinned.
        bpf_program__set_autoload(program, wanted.contains(name) ||
                                               (!options.maps_only && name == kMarkRunningProgram));
    }
    skel->rodata->marks_in_task_storage = marks == MarkStore::task_storage;
    if (auto status = shape_marks_map(skel->maps.marks, marks); !status)
        return status.error();
    auto reused = reuse_pinned_maps(skel->obj, pins);
    if (!reused)
        return reused.error();
    report.reused_maps = std::move(*reused);
    if (marks == MarkStore::task_hash &&
        std::find(report.reused_maps.begin(), report.reused_maps.end(), "marks") ==
            report.reused_maps.end()) {
        if (auto status = create_marks_hash(skel->maps.marks); !status)
            return status.error();
    }

    if (cgfence_bpf__load(skel.get()) != 0)
        return Error{"load BPF programs", "cgfence", errno,
                     with_libbpf_log("the kernel's verifier or BTF refused them")};

    for (const char *name : kMapNames) {
        bpf_map *map = bpf_object__find_map_by_name(skel->obj, name);
        const fs::path pin = pins.map(name);
        if (!fs::exists(pin) && bpf_map__pin(map, pin.c_str()) != 0)
            return system_error("pin map", pin);
    }

    // The orphans' counters and state (key 0: tasks whose container's policy is gone).
    if (auto status = ensure_container_entries(bpf_map__fd(skel->maps.counters),
                                               bpf_map__fd(skel->maps.containers), 0, 0);
        !status)
        return status.error();

    if (!options.maps_only) {
        auto attached = attach_and_pin(skel->obj, pins);
        if (!attached)
            return attached.error();
        report.programs = std::move(*attached);
        auto running = mark_running_tasks(skel->progs.cgfence_mark_running);
        if (!running)
            return running.error();
        report.marked_running = running->marked;
        if (running->unmarked > 0)
            return logic_error("mark the running tasks of registered containers", pins.root,
                               std::to_string(running->unmarked) +
                                   " could not be marked (the marks map is full) and run "
                                   "unconfined: restart their containers");
    }

    UniqueFd meta_fd(bpf_obj_get(pins.map("meta").c_str()));
    cgfence_meta meta{};
    meta.abi_version = CGFENCE_ABI_VERSION;
    meta.build_id = report.build_id;
    meta.loaded_at_ns = realtime_ns();
    meta.flags = options.maps_only ? CGFENCE_META_MAPS_ONLY : 0;
    struct stat root {};
    if (::stat(pins.root.c_str(), &root) != 0)
        return system_error("stat", pins.root);
    meta.pin_dev = kernel_dev(root.st_dev);
    meta.pin_root = root.st_ino;
    if (auto status = write_meta(meta_fd.get(), meta); !status)
        return status.error();
    report.outcome = before ? LoadOutcome::upgraded : LoadOutcome::loaded;
    return report;
}

Status unload(const PinLayout &pins, bool force)
{
    {
        UniqueFd policies(bpf_obj_get(pins.map("policies").c_str()));
        if (policies) {
            auto registered = map_u64_keys(policies.get());
            if (!registered)
                return registered.error();
            if (!registered->empty() && !force)
                return logic_error("unload", pins.root,
                                   std::to_string(registered->size()) +
                                       " containers are registered; unloading ends their "
                                       "enforcement. Stop them first, or use --force");
        }
    }
    // Links first: enforcement ends with the last pin of each link, once the
    // kernel has freed it (after an RCU grace period): wait for that.
    const std::vector<uint32_t> program_ids = linked_program_ids(pins.links());
    for (const fs::path &dir :
         {pins.retired(pins.links()), pins.staged(pins.links()), pins.links(),
          pins.retired(pins.progs()), pins.staged(pins.progs()), pins.progs(), pins.maps()}) {
        if (auto status = remove_pin_tree(dir); !status)
            return status;
    }
    if (auto status = wait_until_detached(program_ids); !status)
        return status;
    // The pin dir may be a bpffs that `load` mounted for it.
    if (on_bpffs(pins.root) && !on_bpffs(pins.root.parent_path()))
        ::umount2(pins.root.c_str(), MNT_DETACH);
    if (::rmdir(pins.root.c_str()) != 0 && errno != ENOENT)
        return system_error("remove pin directory", pins.root);
    return {};
}

namespace {

std::string map_type_name(uint32_t type)
{
    const char *name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
    return name ? name : std::to_string(type);
}

} // namespace

Result<EnforcementStatus> read_status(const PinLayout &pins)
{
    EnforcementStatus status;
    const std::optional<cgfence_meta> meta = pinned_meta(pins);
    if (!meta)
        return status; // nothing pinned
    status.pinned = true;
    status.abi_version = meta->abi_version;
    status.build_id = meta->build_id;
    status.loaded_at_ns = meta->loaded_at_ns;
    status.maps_only = meta->flags & CGFENCE_META_MAPS_ONLY;

    std::error_code ec;
    for (auto it = fs::directory_iterator(pins.links(), ec); !ec && it != fs::directory_iterator();
         ++it) {
        UniqueFd link(bpf_obj_get(it->path().c_str()));
        if (!link)
            continue;
        bpf_link_info info{};
        uint32_t length = sizeof(info);
        if (bpf_obj_get_info_by_fd(link.get(), &info, &length) != 0)
            continue;
        status.programs.push_back({it->path().filename(), info.prog_id, info.id});
    }
    status.live = !status.maps_only && !status.programs.empty();

    for (const char *name : kMapNames) {
        UniqueFd fd(bpf_obj_get(pins.map(name).c_str()));
        if (!fd)
            continue;
        auto shape = map_shape(fd.get());
        if (!shape)
            continue;
        MapStatus map{name, shape->id, map_type_name(shape->type), shape->max_entries, -1};
        if (shape->type == BPF_MAP_TYPE_HASH || shape->type == BPF_MAP_TYPE_HASH_OF_MAPS ||
            shape->type == BPF_MAP_TYPE_PERCPU_HASH) {
            if (auto keys = map_u64_keys(fd.get()))
                map.entries = static_cast<int64_t>(keys->size());
        }
        if (std::string(name) == "policies" && map.entries > 0)
            status.containers = static_cast<uint64_t>(map.entries);
        if (std::string(name) == "marks")
            status.marks =
                mark_store_name(shape->type == BPF_MAP_TYPE_TASK_STORAGE ? MarkStore::task_storage
                                                                         : MarkStore::task_hash);
        status.maps.push_back(map);
    }
    return status;
}

} // namespace cgfence
