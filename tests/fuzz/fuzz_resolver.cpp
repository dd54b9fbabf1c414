// The rule resolver over a generated rootfs: whatever an image holds
// (symlinks absolute or relative, ".." chains, loops, links into the host),
// a rule path resolved in the container's view never yields an object
// outside the rootfs. An object outside would let a profile's rule land on a
// host inode, giving every container with that profile rights on it.
//
// Input: lines of a small tree, created in a fresh directory, then rules:
//   d PATH           a directory (parents are made as needed)
//   f PATH           an empty file
//   p PATH           a FIFO
//   l PATH TARGET    a symlink; TARGET is raw (absolute, "..", anything)
//   h PATH EXISTING  a hard link to a file of the tree
//   r RULE           a rule path to resolve, raw, as a profile would name it
//   c                churn: while the rules are resolved and compiled, another
//                    thread renames a file beside the tree over and over, as
//                    container engines do on a busy host (state files are
//                    written by rename): the kernel's scoped ".." lookups
//                    notice any rename in the system (EAGAIN)
// PATH is always created inside the tree: its components are plain names and
// no symlink is followed while making it. In TARGET and RULE, $OUT is the
// absolute host path of a directory beside the tree (holding a file, a
// directory and a symlink to /etc) and $ROOT that of the tree itself, so that
// escapes have somewhere real to go.
//
// Checked for each rule: ContainerView::open_path gives an object whose
// (st_dev, st_ino) is one of the tree's (found by lstat of every entry), or
// fails with "does not exist" errors (the compiler skips those); key() agrees
// with it and carries the tree's mount; and compile_policy over all rules
// yields inode rules on the tree's objects only.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <ftw.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "abi.hpp"
#include "container_view.hpp"
#include "fuzz_check.hpp"
#include "policy_compiler.hpp"
#include "profile.hpp"
#include "unique_fd.hpp"

namespace {

// Bounds that keep one input fast (a few syscalls per line) without hiding
// anything: PATH_MAX-long rules still come through the rule lines.
constexpr size_t kMaxEntries = 64;
constexpr size_t kMaxRules = 16;
constexpr size_t kMaxComponents = 16;

std::string g_base; // mkdtemp'd once: holds "root" (per input) and "outside"
std::string g_root;
std::string g_outside;

using Inode = std::pair<dev_t, ino_t>;
std::set<Inode> *g_walked = nullptr;

int remember(const char * /*path*/, const struct stat *info, int /*type*/, struct FTW * /*ftw*/)
{
    g_walked->insert({info->st_dev, info->st_ino});
    return 0;
}

// Every object of the tree, the tree's root included.
std::set<Inode> inside_objects()
{
    std::set<Inode> objects;
    g_walked = &objects;
    const int walked = ::nftw(g_root.c_str(), remember, 16, FTW_PHYS);
    g_walked = nullptr;
    FUZZ_CHECK(walked == 0, "nftw " + g_root);
    return objects;
}

std::string expand(std::string text)
{
    for (const auto &[token, value] : {std::pair<std::string, std::string>{"$OUT", g_outside},
                                       std::pair<std::string, std::string>{"$ROOT", g_root}}) {
        for (size_t at = text.find(token); at != std::string::npos;
             at = text.find(token, at + value.size()))
            text.replace(at, token.size(), value);
    }
    return text;
}

// The plain-name components of a PATH, or none when it has "." or "..".
std::vector<std::string> plain_components(const std::string &path)
{
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        const size_t slash = std::min(path.find('/', start), path.size());
        std::string part = path.substr(start, slash - start);
        if (part == "." || part == "..")
            return {};
        if (!part.empty())
            parts.push_back(std::move(part));
        start = slash + 1;
    }
    if (parts.size() > kMaxComponents)
        return {};
    return parts;
}

// The directory that will hold `parts`' last component, made as needed
// without following a symlink; an invalid fd when that cannot be done.
cgfence::UniqueFd parent_directory(int root, const std::vector<std::string> &parts)
{
    cgfence::UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    for (size_t i = 0; i + 1 < parts.size() && dir; i++) {
        const int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int next = ::openat(dir.get(), parts[i].c_str(), flags);
        if (next < 0 && errno == ENOENT && ::mkdirat(dir.get(), parts[i].c_str(), 0755) == 0)
            next = ::openat(dir.get(), parts[i].c_str(), flags);
        dir.reset(next);
    }
    return dir;
}

struct Input {
    std::vector<std::string> rules;
    bool churn = false;
};

// Renames $OUT/churn-a to $OUT/churn-b and back until stopped.
class Churn {
  public:
    explicit Churn(bool enabled)
    {
        if (!enabled)
            return;
        const std::string a = g_outside + "/churn-a";
        const std::string b = g_outside + "/churn-b";
        cgfence::UniqueFd file(::open(a.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        thread_ = std::thread([this, a, b] {
            while (!stop_.load(std::memory_order_relaxed)) {
                (void)::rename(a.c_str(), b.c_str());
                (void)::rename(b.c_str(), a.c_str());
                renamed_.store(true, std::memory_order_release);
            }
        });
        // Resolution starts only once renames are under way.
        while (!renamed_.load(std::memory_order_acquire))
            std::this_thread::yield();
    }
    Churn(const Churn &) = delete;
    Churn &operator=(const Churn &) = delete;
    ~Churn()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }

  private:
    std::atomic<bool> stop_{false};
    std::atomic<bool> renamed_{false};
    std::thread thread_;
};

// Makes the tree an input describes; lines that cannot be made are skipped
// (the tree is whatever the fuzzer managed to describe).
Input build_tree(const std::string &text, int root)
{
    Input input;
    size_t entries = 0;
    size_t start = 0;
    while (start < text.size()) {
        const size_t newline = std::min(text.find('\n', start), text.size());
        const std::string line = text.substr(start, newline - start);
        start = newline + 1;
        if (line == "c") {
            input.churn = true;
            continue;
        }
        if (line.size() < 3 || line[1] != ' ' || line.find('\0') != std::string::npos)
            continue;
        const char kind = line[0];
        const std::string rest = line.substr(2);
        if (kind == 'r') {
            if (input.rules.size() < kMaxRules)
                input.rules.push_back(expand(rest));
            continue;
        }
        if (entries++ >= kMaxEntries)
            continue;
        const size_t space = rest.find(' ');
        const bool two_args = kind == 'l' || kind == 'h';
        if (two_args && space == std::string::npos)
            continue;
        const std::vector<std::string> parts =
            plain_components(two_args ? rest.substr(0, space) : rest);
        if (parts.empty())
            continue;
        cgfence::UniqueFd dir = parent_directory(root, parts);
        if (!dir)
            continue;
        // O_PATH descriptors cannot create in a directory: reopen it.
        cgfence::UniqueFd writable(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!writable)
            continue;
        const char *name = parts.back().c_str();
        switch (kind) {
        case 'd':
            (void)::mkdirat(writable.get(), name, 0755);
            break;
        case 'f':
            (void)cgfence::UniqueFd(::openat(
                writable.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
            break;
        case 'p':
            (void)::mkfifoat(writable.get(), name, 0644);
            break;
        case 'l':
            (void)::symlinkat(expand(rest.substr(space + 1)).c_str(), writable.get(), name);
            break;
        case 'h': {
            // The existing file is found beneath the tree without symlinks:
            // a hard link never brings an outside inode in.
            const std::vector<std::string> existing = plain_components(rest.substr(space + 1));
            if (existing.empty())
                break;
            std::string relative;
            for (const std::string &part : existing)
                relative += (relative.empty() ? "" : "/") + part;
            cgfence::UniqueFd target(::openat(root, relative.c_str(), O_PATH | O_NOFOLLOW));
            struct stat info {};
            if (target && ::fstat(target.get(), &info) == 0 && S_ISREG(info.st_mode))
                (void)::linkat(target.get(), "", writable.get(), name, AT_EMPTY_PATH);
            break;
        }
        default:
            break;
        }
    }
    return input;
}

// The errors the policy compiler takes as "this rule's path does not exist
// in the view" (policy_compiler.cpp) and a path too long to name anything.
bool expected_failure(int errnum)
{
    return errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP || errnum == ENAMETOOLONG;
}

void make_outside()
{
    FUZZ_CHECK(::mkdir(g_outside.c_str(), 0755) == 0, g_outside);
    FUZZ_CHECK(::mkdir((g_outside + "/dir").c_str(), 0755) == 0, g_outside);
    cgfence::UniqueFd secret(
        ::open((g_outside + "/secret").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    FUZZ_CHECK(static_cast<bool>(secret), g_outside);
    FUZZ_CHECK(::symlink("/etc", (g_outside + "/etc").c_str()) == 0, g_outside);
}

void remove_base()
{
    std::error_code ignored;
    std::filesystem::remove_all(g_base, ignored);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int * /*argc*/, char *** /*argv*/)
{
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cgfence-fuzz-resolver.XXXXXX";
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, pattern);
    // The real path: mountinfo shows mount points that way, and
    // ContainerView compares with it.
    g_base = std::filesystem::canonical(pattern).string();
    g_root = g_base + "/root";
    g_outside = g_base + "/outside";
    make_outside();
    std::atexit(remove_base);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return -1;
    std::error_code removed;
    std::filesystem::remove_all(g_root, removed);
    FUZZ_CHECK(!removed, g_root + ": " + removed.message());
    FUZZ_CHECK(::mkdir(g_root.c_str(), 0755) == 0, g_root);
    const cgfence::UniqueFd root(::open(g_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    FUZZ_CHECK(static_cast<bool>(root), g_root);

    const Input input =
        build_tree(std::string(reinterpret_cast<const char *>(data), size), root.get());
    const std::set<Inode> inside = inside_objects();

    auto view = cgfence::ContainerView::open_directory(g_root);
    FUZZ_CHECK(view.ok(), view.ok() ? "" : view.error().message());
    auto root_key = view->key("/");
    FUZZ_CHECK(root_key.ok(), root_key.ok() ? "" : root_key.error().message());
    std::set<uint64_t> inside_inos;
    for (const Inode &object : inside)
        inside_inos.insert(object.second);

    const Churn churn(input.churn);
    cgfence::Profile profile;
    profile.name = "fuzz";
    for (const std::string &rule : input.rules) {
        auto fd = view->open_path(rule);
        if (!fd) {
            FUZZ_CHECK(expected_failure(fd.error().errnum), rule + ": " + fd.error().message());
        } else {
            struct stat info {};
            FUZZ_CHECK(::fstat(fd->get(), &info) == 0, rule);
            FUZZ_CHECK(inside.contains({info.st_dev, info.st_ino}),
                       "rule " + rule + " resolved outside the tree: ino " +
                           std::to_string(info.st_ino));
            auto key = view->key(rule);
            FUZZ_CHECK(key.ok(), rule + ": " + (key.ok() ? "" : key.error().message()));
            FUZZ_CHECK(key->ino == info.st_ino && key->dev == root_key->dev &&
                           key->mount_id == root_key->mount_id,
                       "key of " + rule);
        }
        // Every path the input names, resolved or not, goes to the compiler,
        // each rule alternately recursive.
        cgfence::ProfileRule rule_entry;
        rule_entry.path = rule;
        rule_entry.access = CGFENCE_ACCESS_READ;
        rule_entry.recursive = profile.rules.size() % 2 == 0;
        profile.rules.push_back(rule_entry);
    }

    auto compiled = cgfence::compile_policy(profile, *view, cgfence::CompileOptions{});
    if (!compiled) {
        // Only an unexpected resolution error may stop the compiler, and the
        // loop above would have caught it.
        FUZZ_CHECK(false, compiled.error().message());
    }
    FUZZ_CHECK(compiled->rules_resolved + compiled->skipped.size() == profile.rules.size(),
               "rules lost");
    for (const auto &[key, rule] : compiled->policy.rules) {
        if (key.kind != CGFENCE_KEY_INODE)
            continue;
        FUZZ_CHECK(key.dev == root_key->dev && inside_inos.contains(key.ino),
                   "an inode rule outside the tree: ino " + std::to_string(key.ino));
    }
    return 0;
}
