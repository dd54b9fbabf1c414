// cgfencectl events: the records of denials (and audits) from the ring
// buffer, one readable line each, with the container named from the hook's
// record.
#include <bpf/libbpf.h>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "log.hpp"
#include "maps.hpp"
#include "profile.hpp"
#include "records.hpp"

namespace cgfence::ctl {
namespace {

struct EventsOptions {
    bool follow = false;
    std::string container; // only this container id
};

const char *hook_name(uint8_t hook)
{
    switch (hook) {
    case CGFENCE_HOOK_FILE_OPEN:
        return "file_open";
    case CGFENCE_HOOK_BPRM_CHECK:
        return "bprm_check";
    case CGFENCE_HOOK_MMAP_FILE:
        return "mmap_file";
    case CGFENCE_HOOK_FILE_MPROTECT:
        return "file_mprotect";
    case CGFENCE_HOOK_INODE_CREATE:
        return "inode_create";
    case CGFENCE_HOOK_INODE_MKNOD:
        return "inode_mknod";
    case CGFENCE_HOOK_INODE_MKDIR:
        return "inode_mkdir";
    case CGFENCE_HOOK_INODE_UNLINK:
        return "inode_unlink";
    case CGFENCE_HOOK_INODE_RMDIR:
        return "inode_rmdir";
    case CGFENCE_HOOK_INODE_RENAME:
        return "inode_rename";
    case CGFENCE_HOOK_INODE_LINK:
        return "inode_link";
    case CGFENCE_HOOK_INODE_SYMLINK:
        return "inode_symlink";
    case CGFENCE_HOOK_INODE_SETATTR:
        return "inode_setattr";
    case CGFENCE_HOOK_INODE_SETXATTR:
        return "inode_setxattr";
    case CGFENCE_HOOK_INODE_REMOVEXATTR:
        return "inode_removexattr";
    case CGFENCE_HOOK_INODE_SET_ACL:
        return "inode_set_acl";
    case CGFENCE_HOOK_INODE_REMOVE_ACL:
        return "inode_remove_acl";
    case CGFENCE_HOOK_BPF:
        return "bpf";
    case CGFENCE_HOOK_BPF_MAP:
        return "bpf_map";
    case CGFENCE_HOOK_BPF_PROG:
        return "bpf_prog";
    case CGFENCE_HOOK_PTRACE:
        return "ptrace";
    case CGFENCE_HOOK_TRACEME:
        return "ptrace_traceme";
    case CGFENCE_HOOK_FILE_RECEIVE:
        return "file_receive";
    case CGFENCE_HOOK_TASK_ALLOC:
        return "task_alloc";
    case CGFENCE_HOOK_FILE_IOCTL:
        return "file_ioctl";
    case CGFENCE_HOOK_INODE_FILE_SETATTR:
        return "inode_file_setattr";
    default:
        return "?";
    }
}

// How the task came into its container: "container" (its first exec and what
// descends from it), "exec" (runc/crun/podman exec, healthchecks), "load"
// (running already when cgfence was loaded), "none" (not its container's
// yet: a runtime's task in the exec window).
const char *origin_name(uint8_t origin)
{
    switch (origin) {
    case CGFENCE_ORIGIN_NONE:
        return "none";
    case CGFENCE_ORIGIN_INIT:
        return "container";
    case CGFENCE_ORIGIN_EXEC:
        return "exec";
    case CGFENCE_ORIGIN_LOAD:
        return "load";
    default:
        return "?";
    }
}

std::string wall_time(uint64_t monotonic_ns)
{
    timespec mono{}, real{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    const int64_t age = (static_cast<int64_t>(mono.tv_sec) * 1000000000 + mono.tv_nsec) -
                        static_cast<int64_t>(monotonic_ns);
    const int64_t at = static_cast<int64_t>(real.tv_sec) * 1000000000 + real.tv_nsec - age;
    const time_t seconds = static_cast<time_t>(at / 1000000000);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[96];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>((at / 1000000) % 1000));
    return text;
}

struct Printer {
    const PinnedMaps *maps;
    const GlobalOptions *global;
    const EventsOptions *options;
    std::map<uint64_t, cgfence_record> records; // by cgroup id, refreshed on a miss

    const cgfence_record *record_of(uint64_t cgroup)
    {
        if (!records.contains(cgroup)) {
            if (auto all = all_records(*maps)) {
                for (const auto &r : *all)
                    records[r.value.cgroup] = r.value;
            }
        }
        auto it = records.find(cgroup);
        return it == records.end() ? nullptr : &it->second;
    }

    static std::string rights(uint8_t access) { return access ? access_text(access) : "-"; }

    void print(const cgfence_event &e)
    {
        const cgfence_record *record = record_of(e.container);
        const std::string id = record ? record->id : "cgroup:" + std::to_string(e.container);
        if (!options->container.empty() && options->container != id)
            return;
        const std::string profile = record ? record->profile : "?";
        const char *verdict = e.verdict == CGFENCE_VERDICT_DENIED ? "denied" : "audited";
        const std::string comm(e.comm, strnlen(e.comm, sizeof(e.comm)));
        const std::string name(e.name, strnlen(e.name, sizeof(e.name)));
        if (global->json) {
            nlohmann::ordered_json out = {{"time", wall_time(e.time_ns)},
                                          {"container", id},
                                          {"profile", profile},
                                          {"cgroup", e.cgroup},
                                          {"pid", e.pid},
                                          {"comm", comm},
                                          {"origin", origin_name(e.origin)},
                                          {"wanted", access_text(e.wanted)},
                                          {"granted", access_text(e.granted)},
                                          {"hook", hook_name(e.hook)},
                                          {"name", name},
                                          {"dev", e.dev},
                                          {"ino", e.ino},
                                          {"verdict", verdict}};
            std::puts(out.dump().c_str());
        } else {
            std::printf("%s %s container=%s profile=%s pid=%u comm=%s origin=%s wants=%s has=%s %s "
                        "name=%s dev=%u:%u ino=%llu\n",
                        wall_time(e.time_ns).c_str(), verdict, id.c_str(), profile.c_str(), e.pid,
                        comm.c_str(), origin_name(e.origin), rights(e.wanted).c_str(),
                        rights(e.granted).c_str(), hook_name(e.hook), name.c_str(), e.dev >> 20,
                        e.dev & 0xfffff, static_cast<unsigned long long>(e.ino));
        }
        std::fflush(stdout);
    }
};

int on_event(void *context, void *data, size_t size)
{
    if (size >= sizeof(cgfence_event))
        static_cast<Printer *>(context)->print(*static_cast<const cgfence_event *>(data));
    return 0;
}

volatile std::sig_atomic_t stop_requested = 0;

int run_events(const GlobalOptions &global, const EventsOptions &options)
{
    auto maps = PinnedMaps::open(PinLayout{global.pin_dir});
    if (!maps) {
        log::error(maps.error().message());
        return exit_code::failed;
    }
    Printer printer{&*maps, &global, &options, {}};
    std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> ring(
        ring_buffer__new(maps->events.get(), on_event, &printer, nullptr), ring_buffer__free);
    if (!ring) {
        log::error("read the events ring buffer: " + std::string(std::strerror(errno)));
        return exit_code::failed;
    }
    if (!options.follow) {
        // What is waiting now; a ring buffer has one reader: records read here are gone.
        return ring_buffer__consume(ring.get()) < 0 ? exit_code::failed : exit_code::ok;
    }
    std::signal(SIGINT, [](int) { stop_requested = 1; });
    std::signal(SIGTERM, [](int) { stop_requested = 1; });
    while (!stop_requested) {
        int n = ring_buffer__poll(ring.get(), 250);
        if (n < 0 && n != -EINTR) {
            log::error("poll the events ring buffer: " + std::string(std::strerror(-n)));
            return exit_code::failed;
        }
    }
    return exit_code::ok;
}

} // namespace

void add_events_command(CLI::App &app, const GlobalOptions &global, Action &action)
{
    static EventsOptions options;
    auto *events = app.add_subcommand(
        "events", "Print denials and audit records from the kernel, one line each");
    events->add_flag("-f,--follow", options.follow, "keep waiting for new records (Ctrl-C ends)");
    events->add_option("--container", options.container, "only records of this container id");
    events->footer(help_footer(
        "One line per record: time, container (profile), pid, comm, origin (container: the\n"
        "container's own tasks; exec: came in by runc/crun/podman exec; load: running when\n"
        "cgfence was loaded; none: a runtime's task before its exec), access wanted, path or\n"
        "name, hook, verdict. Records are consumed: one reader sees each record once.\n"
        "Examples:\n  cgfencectl events --follow\n  cgfencectl events --json --container web-1"));
    events->callback([&] { action = [&] { return run_events(global, options); }; });
}

} // namespace cgfence::ctl
