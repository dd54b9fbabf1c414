// cgfencectl profile learn ID: a profile from what learn mode remembered of a
// running container, its records turned into paths in the container's view.
#include <cstdio>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <set>

#include "commands.hpp"
#include "container_process.hpp"
#include "container_selection.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "inode_index.hpp"
#include "learned.hpp"
#include "log.hpp"
#include "policy.hpp"
#include "profile_learner.hpp"

namespace cgfence::ctl {
namespace {

struct LearnOptions {
    std::string id;
    std::string from;
    std::string output;
    ProfileSource source;
};

// Filesystems whose objects are made per process, per container or per open
// (proc's pid directories, a container's own devpts, pipes): a path or inode
// seen once names nothing the next container will have, so they get
// filesystem-type rules.
bool per_instance_filesystem(const std::string &fs)
{
    static const std::set<std::string> kinds = {
        "proc",    "sysfs", "devpts", "mqueue",   "cgroup2",     "cgroup", "securityfs", "debugfs",
        "tracefs", "bpf",   "pipefs", "configfs", "binfmt_misc", "pstore", "efivarfs"};
    return kinds.contains(fs);
}

std::string dev_text(uint32_t dev)
{
    return std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
}

// The remembered accesses, as paths of the container's view now.
Result<LearnInput> gather(const PinnedMaps &maps, const ContainerRecord &record, Profile start)
{
    const uint64_t cgroup = record.value.cgroup;
    auto accesses = learned_accesses(maps, cgroup);
    if (!accesses)
        return accesses.error();
    auto counters = read_counters(maps, cgroup);
    if (!counters)
        return counters.error();
    LearnInput input;
    input.start = std::move(start);
    input.lost = counters->learn_dropped;

    std::set<uint32_t> devs;
    for (const LearnedAccess &a : *accesses) {
        if (!filesystem_name(a.detail.fs_magic) ||
            !per_instance_filesystem(*filesystem_name(a.detail.fs_magic)))
            devs.insert(a.dev);
    }
    auto process = container_process(cgroup, recorded_view(record.value));
    if (!process)
        return process.error();
    auto view = ContainerView::open_running(process->process.pid(), std::move(process->root));
    if (!view)
        return view.error();
    auto index = InodeIndex::build(*view, devs);
    if (!index)
        return index.error();
    if (!process->process.alive())
        return logic_error("read the files of container", record.value.id,
                           "its process exited meanwhile; try again");
    input.entries = index->entries();
    input.walk_cut = index->cut();

    for (const LearnedAccess &a : *accesses) {
        const std::optional<std::string> fs = filesystem_name(a.detail.fs_magic);
        if (fs && per_instance_filesystem(*fs)) {
            input.filesystems[*fs] |= a.wanted;
            continue;
        }
        if (const IndexedObject *object = index->find(a.dev, a.ino)) {
            input.observed.push_back({object->path, object->is_dir, a.wanted});
            continue;
        }
        const IndexedObject *parent = index->find(a.dev, a.detail.parent_ino);
        if (parent && parent->is_dir) {
            input.gone.push_back({parent->path, a.detail.name, a.wanted});
            continue;
        }
        input.not_found.push_back(
            "\"" + std::string(a.detail.name) + "\" (dev " + dev_text(a.dev) + ", inode " +
            std::to_string(a.ino) + ", " + access_text(a.wanted) +
            "): " + (fs ? "on " + *fs + ", " : "on a filesystem with no profile name, ") +
            "not found in the container's view (gone, with the directory it was in)");
    }
    return input;
}

// Written to a new file of its own next to the destination (never through a
// name someone else made) and renamed over it: a reader never sees half, and
// a failure leaves nothing behind.
Status write_file(const std::string &path, const std::string &text)
{
    std::string temporary = path + ".XXXXXX";
    UniqueFd fd(::mkostemp(temporary.data(), O_CLOEXEC));
    if (!fd)
        return system_error("create", temporary);
    for (size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0) {
            const int err = errno;
            ::unlink(temporary.c_str());
            return system_error("write", temporary, err);
        }
        done += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0 ||
        ::rename(temporary.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temporary.c_str());
        return system_error("write", path, err);
    }
    return {};
}

// Names come from the container's files: control characters are shown
// escaped, so a crafted name cannot drive the admin's terminal.
std::string printable(const std::string &text)
{
    std::string out;
    for (const unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

int run_learn(const GlobalOptions &global, const LearnOptions &options)
{
    auto selected = open_container(global.pin_dir, options.id);
    if (!selected) {
        log::error(selected.error().message());
        return exit_code::failed;
    }
    const PinnedMaps &maps = selected->maps;
    const ContainerRecord &record = selected->record;
    const std::string from = options.from.empty() ? record.value.profile : options.from;
    auto start = options.source.load(from);
    if (!start) {
        log::error(start.error().message() + "; name the starting profile with --from");
        return exit_code::failed;
    }
    auto input = gather(maps, record, std::move(*start));
    if (!input) {
        log::error(input.error().message());
        return exit_code::failed;
    }
    LearnedProfile learned = learn_profile(*input);
    const std::string text = profile_json(learned.profile);
    // What is written must be what `profile check` accepts.
    const ProfileCheck check = check_profile(text, "learned profile", learned.profile.name);
    for (const std::string &error : check.errors)
        log::error(error);
    if (!check.errors.empty())
        return exit_code::failed;
    for (const std::string &line : learned.report)
        std::fprintf(stderr, "learn: %s\n", printable(line).c_str());
    if (options.output.empty()) {
        std::fputs(text.c_str(), stdout);
        return exit_code::ok;
    }
    if (auto s = write_file(options.output, text); !s) {
        log::error(s.error().message());
        return exit_code::failed;
    }
    std::fprintf(stderr, "learn: %zu rules written to %s\n", learned.profile.rules.size(),
                 printable(options.output).c_str());
    return exit_code::ok;
}

} // namespace

void add_learn_command(CLI::App &profile, const GlobalOptions &global, Action &action)
{
    static LearnOptions options;
    auto *learn = profile.add_subcommand(
        "learn", "Write a profile from what a running container did in learn mode");
    add_container_id(*learn, options.id);
    learn->add_option("--from", options.from,
                      "starting profile whose rules are kept (NAME or FILE; default: the "
                      "container's profile)");
    learn->add_option("-o,--output", options.output, "write the profile here (default: stdout)");
    options.source.add_options(*learn);
    learn->footer(help_footer(
        "Run the container with the annotation io.cgfence.mode=learn (it runs unhindered;\n"
        "every access a default-deny reading of its profile would deny is remembered in\n"
        "the kernel), exercise it, then run this while it still runs: the accesses are\n"
        "found as paths in its view and collapsed into the fewest rules (a directory rule\n"
        "where most of a directory was used or where names were made; file rules\n"
        "otherwise; only the rights used). The profile goes to stdout or -o FILE; what was\n"
        "collapsed and why, and what could not be covered, goes to stderr.\n"
        "Examples:\n"
        "  cgfencectl profile learn web-1 -o /etc/cgfence/profiles/web.json\n"
        "  cgfencectl profile learn web-1 --from minimal > web.json"));
    learn->callback([&] { action = [&] { return run_learn(global, options); }; });
}

} // namespace cgfence::ctl
