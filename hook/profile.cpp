#include "profile.hpp"

#include <climits>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "abi.hpp"
#include "unique_fd.hpp"

namespace cgfence {
namespace {

constexpr size_t kMaxProfileBytes = size_t{1} << 20;

// <linux/magic.h> lacks these two; the values are the s_magic their kernel
// code sets (ipc/mqueue.c, fs/configfs/mount.c).
constexpr uint64_t kMqueueMagic = 0x19800202;
constexpr uint64_t kConfigfsMagic = 0x62656570;

struct Filesystem {
    const char *name; // as /proc/filesystems and mountinfo spell it
    uint64_t magic;
};

// Names that share a magic are one type to the kernel: devtmpfs is a tmpfs
// (shmem) superblock, ext2 and ext3 are served by ext4, nfs4 by nfs, fuseblk
// and virtiofs by fuse. pipefs never appears in a mount table, but the pipes
// a process reopens through /proc/self/fd (e.g. /dev/stdout) live there.
constexpr std::array kFilesystems = {
    Filesystem{"proc", PROC_SUPER_MAGIC},
    Filesystem{"sysfs", SYSFS_MAGIC},
    Filesystem{"tmpfs", TMPFS_MAGIC},
    Filesystem{"devtmpfs", TMPFS_MAGIC},
    Filesystem{"devpts", DEVPTS_SUPER_MAGIC},
    Filesystem{"mqueue", kMqueueMagic},
    Filesystem{"cgroup2", CGROUP2_SUPER_MAGIC},
    Filesystem{"cgroup", CGROUP_SUPER_MAGIC},
    Filesystem{"overlay", OVERLAYFS_SUPER_MAGIC},
    Filesystem{"ext4", EXT4_SUPER_MAGIC},
    Filesystem{"ext3", EXT4_SUPER_MAGIC},
    Filesystem{"ext2", EXT4_SUPER_MAGIC},
    Filesystem{"xfs", XFS_SUPER_MAGIC},
    Filesystem{"btrfs", BTRFS_SUPER_MAGIC},
    Filesystem{"nfs", NFS_SUPER_MAGIC},
    Filesystem{"nfs4", NFS_SUPER_MAGIC},
    Filesystem{"fuse", FUSE_SUPER_MAGIC},
    Filesystem{"fuseblk", FUSE_SUPER_MAGIC},
    Filesystem{"virtiofs", FUSE_SUPER_MAGIC},
    Filesystem{"squashfs", SQUASHFS_MAGIC},
    Filesystem{"erofs", EROFS_SUPER_MAGIC_V1},
    Filesystem{"9p", V9FS_MAGIC},
    Filesystem{"vfat", MSDOS_SUPER_MAGIC},
    Filesystem{"ramfs", RAMFS_MAGIC},
    Filesystem{"securityfs", SECURITYFS_MAGIC},
    Filesystem{"debugfs", DEBUGFS_MAGIC},
    Filesystem{"tracefs", TRACEFS_MAGIC},
    Filesystem{"bpf", BPF_FS_MAGIC},
    Filesystem{"hugetlbfs", HUGETLBFS_MAGIC},
    Filesystem{"configfs", kConfigfsMagic},
    Filesystem{"pstore", PSTOREFS_MAGIC},
    Filesystem{"efivarfs", EFIVARFS_MAGIC},
    Filesystem{"binfmt_misc", BINFMTFS_MAGIC},
    Filesystem{"autofs", AUTOFS_SUPER_MAGIC},
    Filesystem{"pipefs", PIPEFS_MAGIC},
};

std::string known_filesystems()
{
    std::string names;
    for (const Filesystem &fs : kFilesystems)
        names += (names.empty() ? "" : ", ") + std::string(fs.name);
    return names;
}

// Text from the file, quoted and escaped as JSON writes it, so a message
// shows exactly what was written, control characters included.
std::string json_quoted(const std::string &text)
{
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A value read from a profile, or what is wrong with it: "<what> (<fix>)".
template <typename T> struct Checked {
    T value{};
    std::string problem;
};

Checked<uint8_t> parse_access(const std::string &text)
{
    uint8_t bits = 0;
    for (const char letter : text) {
        const uint8_t bit = letter == 'r'   ? CGFENCE_ACCESS_READ
                            : letter == 'w' ? CGFENCE_ACCESS_WRITE
                            : letter == 'x' ? CGFENCE_ACCESS_EXEC
                                            : 0;
        if (bit == 0) {
            const bool printable = std::isprint(static_cast<unsigned char>(letter)) != 0;
            return {0, "access " + json_quoted(text) + " has an unknown " +
                           (printable ? std::string("letter '") + letter + "'" : "character") +
                           " (use letters of \"rwx\", or \"\" to deny)"};
        }
        if ((bits & bit) != 0)
            return {0, "access " + json_quoted(text) + " repeats '" + letter +
                           "' (use each of r, w and x at most once)"};
        bits = static_cast<uint8_t>(bits | bit);
    }
    return {bits, {}};
}

std::vector<std::string> components(const std::string &path)
{
    std::vector<std::string> parts;
    size_t start = 0;
    while (start < path.size()) {
        const size_t slash = std::min(path.find('/', start), path.size());
        if (slash > start)
            parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

bool all_digits(const std::string &text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

// Path rules the hook cannot keep true (FACTS.md §8): inode numbers under
// /proc/<pid> and /proc/sys are handed out anew whenever their dentries are
// evicted, and /proc/self (with the symlinks into it) is the hook's own
// process, not the container's.
std::string proc_problem(const std::string &path, const std::vector<std::string> &parts)
{
    if (parts.size() < 2 || parts[0] != "proc")
        return {};
    const std::string &entry = parts[1];
    const char *fix = " (inode numbers there change; use {\"fs\": \"proc\", ...})";
    if (all_digits(entry))
        return "path " + json_quoted(path) + " is under /proc/<pid>" + fix;
    if (entry == "self" || entry == "thread-self" || entry == "sys")
        return "path " + json_quoted(path) + " is under /proc/" + entry + fix;
    if (entry == "net" || entry == "mounts")
        return "path " + json_quoted(path) + " is under /proc/" + entry +
               ", a symlink into /proc/self" + fix;
    return {};
}

// Normalized lexically ("//" and a trailing "/" dropped). "." and ".." are
// refused, not resolved: a rule names a path as the container sees it, and a
// ".." after a symlink leads elsewhere than the text reads.
Checked<std::string> parse_path(const std::string &path)
{
    if (path.empty())
        return {{}, "path is empty (write an absolute path, e.g. \"/usr\")"};
    if (path.find('\0') != std::string::npos)
        return {{}, "path " + json_quoted(path) + " has a NUL character (remove it)"};
    if (path[0] != '/')
        return {{},
                "path " + json_quoted(path) +
                    " is relative (rule paths are absolute, as seen inside the container)"};
    const std::vector<std::string> parts = components(path);
    for (const std::string &part : parts) {
        if (part == "." || part == "..")
            return {{},
                    "path " + json_quoted(path) + " has a " + json_quoted(part) +
                        " component (a rule path is what the container sees: write it "
                        "without \".\" or \"..\")"};
        if (part.size() > NAME_MAX)
            return {{},
                    "path " + json_quoted(path) + " has a component longer than " +
                        std::to_string(NAME_MAX) + " bytes (no file can have that name)"};
    }
    if (std::string problem = proc_problem(path, parts); !problem.empty())
        return {{}, problem};
    std::string normalized;
    for (const std::string &part : parts)
        normalized += "/" + part;
    return {normalized.empty() ? "/" : normalized, {}};
}

const Filesystem *find_filesystem(const std::string &name)
{
    for (const Filesystem &fs : kFilesystems) {
        if (name == fs.name)
            return &fs;
    }
    return nullptr;
}

// Counts lines as the parser consumes characters, so a SAX event knows the
// line of the token that raised it.
struct TextPosition {
    int newlines = 0; // among the characters consumed so far
    int line = 1;     // of the last character consumed
};

// Iterates over text for nlohmann's iterator input adapter, which reads each
// character once, in order. The lexer reads one character past a number
// (then ungets it), and that character, when a newline, still belongs to
// the number's line: hence the line of the last character, not the next.
class CountingIterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char *;
    using reference = const char &;

    CountingIterator(const char *at, TextPosition *position) : at_(at), position_(position) {}
    reference operator*() const { return *at_; }
    CountingIterator &operator++()
    {
        position_->line = position_->newlines + 1;
        if (*at_ == '\n')
            position_->newlines++;
        ++at_;
        return *this;
    }
    bool operator==(const CountingIterator &other) const { return at_ == other.at_; }

  private:
    const char *at_;
    TextPosition *position_;
};

enum class JsonType { null, boolean, number, string, object, array };

const char *described(JsonType type)
{
    switch (type) {
    case JsonType::null:
        return "null";
    case JsonType::boolean:
        return "a boolean";
    case JsonType::number:
        return "a number";
    case JsonType::string:
        return "a string";
    case JsonType::object:
        return "an object";
    case JsonType::array:
        return "an array";
    }
    return "?";
}

struct JsonValue {
    JsonType type = JsonType::null;
    std::string text;  // of a string
    bool flag = false; // of a boolean
};

// A key a profile object may have: the type of its value, and the fix shown
// when the value has another.
struct Field {
    const char *key;
    JsonType type;
    const char *fix;
};

constexpr std::array kProfileFields = {
    Field{"mode", JsonType::string, "use a string: \"enforce\", \"audit\" or \"learn\""},
    Field{"default", JsonType::string, "use a string: \"allow\" or \"deny\""},
    Field{"rules", JsonType::array,
          "use an array of rules: [{\"path\": \"/usr\", \"access\": \"rx\"}, ...]"},
};

constexpr std::array kRuleFields = {
    Field{"path", JsonType::string, "use a string: an absolute path as seen in the container"},
    Field{"fs", JsonType::string, "use a string: a filesystem type, e.g. \"proc\""},
    Field{"access", JsonType::string, "use a string of letters of \"rwx\", or \"\" to deny"},
    Field{"recursive", JsonType::boolean, "use true or false, without quotes"},
};

template <size_t N>
const Field *find_field(const std::array<Field, N> &fields, const std::string &key)
{
    for (const Field &field : fields) {
        if (key == field.key)
            return &field;
    }
    return nullptr;
}

template <size_t N> std::string field_names(const std::array<Field, N> &fields)
{
    std::string names;
    for (const Field &field : fields)
        names += (names.empty() ? "" : ", ") + std::string(field.key);
    return names;
}

// A rule as it is read: which keys it has, and where.
struct RuleDraft {
    ProfileRule rule;
    int path_line = 0; // 0: no such key
    int fs_line = 0;
    int access_line = 0;
    int recursive_line = 0;
    size_t errors_before = 0; // the rule is valid when no error came since it began
};

// Builds a Profile from SAX events, collecting every problem with its line.
class ProfileReader final : public nlohmann::json_sax<nlohmann::json> {
  public:
    ProfileReader(const std::string &text, const std::string &source, const TextPosition &position)
        : text_(text), source_(source), position_(position)
    {
    }

    bool null() override { return take({JsonType::null, {}, false}); }
    bool boolean(bool flag) override { return take({JsonType::boolean, {}, flag}); }
    bool number_integer(number_integer_t /*unused*/) override
    {
        return take({JsonType::number, {}, false});
    }
    bool number_unsigned(number_unsigned_t /*unused*/) override
    {
        return take({JsonType::number, {}, false});
    }
    bool number_float(number_float_t /*unused*/, const string_t & /*unused*/) override
    {
        return take({JsonType::number, {}, false});
    }
    bool string(string_t &text) override { return take({JsonType::string, text, false}); }
    bool binary(binary_t & /*unused*/) override { return true; } // JSON text has none
    bool start_object(std::size_t /*unused*/) override { return open(JsonType::object); }
    bool start_array(std::size_t /*unused*/) override { return open(JsonType::array); }
    bool key(string_t &name) override;
    bool end_object() override;
    bool end_array() override;
    bool parse_error(std::size_t position, const std::string & /*unused*/,
                     const nlohmann::detail::exception &error) override;

    ProfileCheck finish(const std::string &name);

  private:
    enum class Where { document, profile, rules, rule };

    [[nodiscard]] int line() const { return position_.line; }
    void fail(int line, const std::string &problem);
    void warn(int line, const std::string &note);
    bool take(const JsonValue &value);
    bool open(JsonType type);
    bool accept(const JsonValue &value);
    bool accept_setting(const JsonValue &value);
    void accept_rule_field(const JsonValue &value);
    void set_mode(const std::string &text);
    void set_default(const std::string &text);
    void set_path(const std::string &text);
    void set_fs(const std::string &text);
    void set_access(const std::string &text);
    void finish_rule();
    void add_rule();
    [[nodiscard]] int syntax_error_line(std::size_t position) const;

    const std::string &text_;
    const std::string &source_;
    const TextPosition &position_;
    Profile profile_;
    std::multimap<int, std::string> errors_; // line -> message: file order, whenever found
    Where where_ = Where::document;
    int skip_depth_ = 0; // > 0 inside a value being skipped (unknown key, wrong type)
    bool stopped_ = false;
    int profile_line_ = 1;
    bool has_default_ = false;
    std::map<std::string, int> profile_keys_; // key -> line, to refuse repeats
    std::map<std::string, int> rule_keys_;
    const Field *field_ = nullptr; // of the key whose value comes next; null: skip it
    std::string key_;
    RuleDraft draft_;
    std::map<std::string, int> path_lines_;                    // normalized path -> its rule's line
    std::map<uint64_t, std::pair<std::string, int>> fs_lines_; // magic -> name, line
};

void ProfileReader::fail(int line, const std::string &problem)
{
    errors_.emplace(line, source_ + ":" + std::to_string(line) + ": " + problem);
}

void ProfileReader::warn(int line, const std::string &note)
{
    profile_.warnings.push_back(source_ + ":" + std::to_string(line) + ": " + note);
}

bool ProfileReader::take(const JsonValue &value)
{
    if (skip_depth_ == 0)
        accept(value);
    return !stopped_;
}

bool ProfileReader::open(JsonType type)
{
    if (skip_depth_ > 0 || !accept({type, {}, false}))
        skip_depth_++;
    return !stopped_;
}

// A value where the parser is; returns whether an object or array is
// entered (false: its contents are skipped).
bool ProfileReader::accept(const JsonValue &value)
{
    switch (where_) {
    case Where::document:
        if (value.type == JsonType::object) {
            where_ = Where::profile;
            profile_line_ = line();
            return true;
        }
        fail(line(), std::string("a profile is a JSON object, not ") + described(value.type) +
                         " (write {\"default\": \"deny\", \"rules\": [...]})");
        stopped_ = true;
        return false;
    case Where::profile:
        return accept_setting(value);
    case Where::rules:
        if (value.type == JsonType::object) {
            where_ = Where::rule;
            draft_ = RuleDraft{};
            draft_.rule.line = line();
            draft_.errors_before = errors_.size();
            rule_keys_.clear();
            return true;
        }
        fail(line(),
             std::string("a rule is ") + described(value.type) +
                 " (each rule is an object, e.g. {\"path\": \"/usr\", \"access\": \"rx\"})");
        return false;
    case Where::rule:
        accept_rule_field(value);
        return false;
    }
    return false;
}

bool ProfileReader::key(string_t &name)
{
    if (skip_depth_ > 0)
        return true;
    const bool in_rule = where_ == Where::rule;
    std::map<std::string, int> &seen = in_rule ? rule_keys_ : profile_keys_;
    key_ = name;
    field_ = in_rule ? find_field(kRuleFields, name) : find_field(kProfileFields, name);
    if (field_ == nullptr) {
        fail(line(), "unknown key " + json_quoted(name) + " (known: " +
                         (in_rule ? field_names(kRuleFields) : field_names(kProfileFields)) + ")");
        return true;
    }
    if (auto first = seen.find(name); first != seen.end()) {
        fail(line(), "duplicate key " + json_quoted(name) + " (first at line " +
                         std::to_string(first->second) + ")");
        field_ = nullptr;
        return true;
    }
    seen[name] = line();
    // Presence counts even when the value turns out wrong: one mistake, one message.
    if (name == "default")
        has_default_ = true;
    if (in_rule) {
        int &key_line = name == "path"     ? draft_.path_line
                        : name == "fs"     ? draft_.fs_line
                        : name == "access" ? draft_.access_line
                                           : draft_.recursive_line;
        key_line = line();
    }
    return true;
}

bool ProfileReader::accept_setting(const JsonValue &value)
{
    if (field_ == nullptr)
        return false;
    if (value.type != field_->type) {
        fail(line(), json_quoted(key_) + " is " + described(value.type) + " (" + field_->fix + ")");
        return false;
    }
    if (key_ == "rules") {
        where_ = Where::rules;
        return true;
    }
    if (key_ == "mode")
        set_mode(value.text);
    else
        set_default(value.text);
    return false;
}

void ProfileReader::accept_rule_field(const JsonValue &value)
{
    if (field_ == nullptr)
        return;
    if (value.type != field_->type) {
        fail(line(), json_quoted(key_) + " is " + described(value.type) + " (" + field_->fix + ")");
        return;
    }
    if (key_ == "path")
        set_path(value.text);
    else if (key_ == "fs")
        set_fs(value.text);
    else if (key_ == "access")
        set_access(value.text);
    else
        draft_.rule.recursive = value.flag;
}

void ProfileReader::set_mode(const std::string &text)
{
    if (text == "enforce")
        profile_.mode = ProfileMode::enforce;
    else if (text == "audit")
        profile_.mode = ProfileMode::audit;
    else if (text == "learn")
        profile_.mode = ProfileMode::learn;
    else
        fail(line(), "mode " + json_quoted(text) +
                         " is not a mode (use \"enforce\", \"audit\" or \"learn\")");
}

void ProfileReader::set_default(const std::string &text)
{
    if (text == "allow" || text == "deny")
        profile_.default_allow = text == "allow";
    else
        fail(line(),
             "default " + json_quoted(text) + " is not allow or deny (use \"allow\" or \"deny\")");
}

void ProfileReader::set_path(const std::string &text)
{
    Checked<std::string> path = parse_path(text);
    if (!path.problem.empty())
        return fail(line(), path.problem);
    draft_.rule.path = std::move(path.value);
}

void ProfileReader::set_fs(const std::string &text)
{
    const Filesystem *fs = find_filesystem(text);
    if (fs == nullptr)
        return fail(line(), "unknown filesystem " + json_quoted(text) +
                                " (known: " + known_filesystems() + ")");
    draft_.rule.fs = fs->name;
    draft_.rule.fs_magic = fs->magic;
}

void ProfileReader::set_access(const std::string &text)
{
    Checked<uint8_t> access = parse_access(text);
    if (!access.problem.empty())
        return fail(line(), access.problem);
    draft_.rule.access = access.value;
    // ld.so opens a library to read it and maps it executable; an interpreter
    // reads its script.
    if ((access.value & CGFENCE_ACCESS_EXEC) != 0 && (access.value & CGFENCE_ACCESS_READ) == 0)
        warn(line(), "access " + json_quoted(text) +
                         " has x without r (shared libraries and scripts need both: use \"rx\")");
}

bool ProfileReader::end_object()
{
    if (skip_depth_ > 0) {
        skip_depth_--;
    } else if (where_ == Where::rule) {
        finish_rule();
        where_ = Where::rules;
    } else if (where_ == Where::profile) {
        where_ = Where::document;
    }
    return true;
}

bool ProfileReader::end_array()
{
    if (skip_depth_ > 0)
        skip_depth_--;
    else if (where_ == Where::rules)
        where_ = Where::profile;
    return true;
}

void ProfileReader::finish_rule()
{
    const RuleDraft &d = draft_;
    const std::string &named = d.path_line != 0 ? d.rule.path : d.rule.fs;
    if (d.path_line == 0 && d.fs_line == 0)
        fail(d.rule.line, "a rule has neither \"path\" nor \"fs\" (add \"path\": \"/...\" or "
                          "\"fs\": \"proc\", ...)");
    else if (d.path_line != 0 && d.fs_line != 0)
        fail(std::max(d.path_line, d.fs_line),
             "a rule has both \"path\" and \"fs\" (a rule names one: make it two rules)");
    else if (d.fs_line != 0 && d.recursive_line != 0)
        fail(d.recursive_line, "\"recursive\" is for path rules (a filesystem rule covers every "
                               "mount of its type: remove it)");
    if (d.access_line == 0)
        fail(d.rule.line, "rule" + (named.empty() ? "" : " for " + json_quoted(named)) +
                              " has no \"access\" (add \"access\": \"rx\", or \"\" to deny)");
    if (errors_.size() == d.errors_before)
        add_rule();
}

// Adds the finished draft, unless another rule already names its path or
// its filesystem type (two names of one superblock type included).
void ProfileReader::add_rule()
{
    const ProfileRule &rule = draft_.rule;
    if (!rule.path.empty()) {
        auto [first, added] = path_lines_.emplace(rule.path, rule.line);
        if (!added)
            return fail(draft_.path_line, "duplicate rule for " + json_quoted(rule.path) +
                                              " (first at line " + std::to_string(first->second) +
                                              ")");
    } else {
        auto [first, added] = fs_lines_.emplace(rule.fs_magic, std::make_pair(rule.fs, rule.line));
        const auto &[first_name, first_line] = first->second;
        if (!added && first_name == rule.fs)
            return fail(draft_.fs_line, "duplicate rule for filesystem " + json_quoted(rule.fs) +
                                            " (first at line " + std::to_string(first_line) + ")");
        if (!added)
            return fail(draft_.fs_line, "filesystem " + json_quoted(rule.fs) +
                                            " is the same type as " + json_quoted(first_name) +
                                            " at line " + std::to_string(first_line) +
                                            " (the kernel cannot tell them apart: keep one rule)");
    }
    profile_.rules.push_back(rule);
}

// The line of the character the parser stopped at; at the end of the text,
// the line of its last non-blank character (what was left unfinished).
int ProfileReader::syntax_error_line(std::size_t position) const
{
    size_t end = std::min(position, text_.size());
    if (position > text_.size())
        end = text_.find_last_not_of(" \t\r\n") + 1;
    const auto before = std::string_view(text_).substr(0, end == 0 ? 0 : end - 1);
    return 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
}

bool ProfileReader::parse_error(std::size_t position, const std::string & /*unused*/,
                                const nlohmann::detail::exception &error)
{
    // what(): "[json.exception.parse_error.101] parse error at line 2, column 5: syntax
    // error while parsing object - <reason>", or "[json.exception.out_of_range.406] <reason>"
    const std::string what = error.what();
    const size_t dash = what.find(" - ");
    const size_t bracket = what.find("] ");
    const std::string reason = dash != std::string::npos      ? what.substr(dash + 3)
                               : bracket != std::string::npos ? what.substr(bracket + 2)
                                                              : what;
    fail(syntax_error_line(position),
         "JSON syntax error: " + reason +
             " (profiles are strict JSON: double quotes, no comments, no trailing commas)");
    stopped_ = true;
    return false;
}

ProfileCheck ProfileReader::finish(const std::string &name)
{
    if (!stopped_ && !has_default_)
        fail(profile_line_, "no \"default\" (add \"default\": \"deny\" or \"allow\": what objects "
                            "without a rule get)");
    const bool restricts =
        std::any_of(profile_.rules.begin(), profile_.rules.end(),
                    [](const ProfileRule &r) { return r.access != CGFENCE_ACCESS_ALL; });
    if (errors_.empty() && profile_.default_allow && !restricts)
        warn(profile_line_, "default \"allow\" and no rule takes a right away: this profile "
                            "confines nothing (add rules, or use \"default\": \"deny\")");
    profile_.name = name;
    std::vector<std::string> errors;
    for (auto &[line, message] : errors_)
        errors.push_back(std::move(message));
    return {std::move(profile_), std::move(errors)};
}

} // namespace

bool valid_profile_name(const std::string &name)
{
    if (name.empty() || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    });
}

ProfileCheck check_profile(const std::string &text, const std::string &source,
                           const std::string &name)
{
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        return {{},
                {source + ":1: the file is empty (a profile is a JSON object, e.g. "
                          "{\"default\": \"deny\", \"rules\": []})"}};
    TextPosition position;
    ProfileReader reader(text, source, position);
    const char *begin = text.data();
    nlohmann::json::sax_parse(CountingIterator(begin, &position),
                              CountingIterator(begin + text.size(), &position), &reader);
    return reader.finish(name);
}

Result<Profile> parse_profile(const std::string &text, const std::string &source,
                              const std::string &name)
{
    ProfileCheck check = check_profile(text, source, name);
    if (!check.errors.empty())
        return logic_error("profile", "", check.errors.front());
    return std::move(check.profile);
}

Result<std::string> read_profile_file(const std::string &path)
{
    // O_NONBLOCK: opening a FIFO by mistake must not hang the hook (regular
    // files ignore the flag).
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd)
        return system_error("open profile", path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return system_error("stat profile", path);
    if (!S_ISREG(st.st_mode))
        return logic_error("open profile", path,
                           "not a regular file (a profile is a NAME.json file)");
    const Error too_large =
        logic_error("read profile", path, "larger than 1 MiB (is it a profile?)");
    if (static_cast<uint64_t>(st.st_size) > kMaxProfileBytes)
        return too_large;
    std::string text(kMaxProfileBytes + 1, '\0');
    size_t size = 0;
    while (size < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return system_error("read profile", path);
        if (n == 0)
            break;
        size += static_cast<size_t>(n);
    }
    if (size > kMaxProfileBytes) // it grew since fstat
        return too_large;
    text.resize(size);
    return text;
}

Result<Profile> load_profile(const std::string &name, const std::vector<std::string> &dirs)
{
    if (!valid_profile_name(name))
        return logic_error("load profile", json_quoted(name),
                           "not a profile name (use letters, digits, '.', '_' and '-')");
    const std::string file = name + ".json";
    std::string searched;
    for (const std::string &dir : dirs) {
        const std::string path = (std::filesystem::path(dir) / file).string();
        auto text = read_profile_file(path);
        if (!text && (text.error().errnum == ENOENT || text.error().errnum == ENOTDIR)) {
            searched += (searched.empty() ? "" : ", ") + dir;
            continue;
        }
        if (!text)
            return text.error();
        return parse_profile(*text, path, name);
    }
    return Error{"load profile", name, ENOENT,
                 "no " + file + " in " +
                     (searched.empty() ? "any directory: none given" : searched)};
}

std::optional<uint64_t> filesystem_magic(const std::string &fs)
{
    const Filesystem *found = find_filesystem(fs);
    if (found == nullptr)
        return std::nullopt;
    return found->magic;
}

std::optional<std::string> filesystem_name(uint64_t magic)
{
    for (const Filesystem &fs : kFilesystems) {
        if (fs.magic == magic)
            return std::string(fs.name);
    }
    return std::nullopt;
}

std::string profile_json(const Profile &profile)
{
    auto quoted = [](const std::string &text) { return nlohmann::json(text).dump(); };
    std::string out = "{\n  \"mode\": " + quoted(mode_name(profile.mode)) +
                      ",\n  \"default\": " + quoted(profile.default_allow ? "allow" : "deny") +
                      ",\n  \"rules\": [";
    for (size_t i = 0; i < profile.rules.size(); i++) {
        const ProfileRule &rule = profile.rules[i];
        out += i == 0 ? "\n" : ",\n";
        out += rule.fs.empty() ? "    {\"path\": " + quoted(rule.path)
                               : "    {\"fs\": " + quoted(rule.fs);
        out += ", \"access\": " + quoted(access_text(rule.access));
        if (rule.fs.empty() && !rule.recursive)
            out += ", \"recursive\": false";
        out += "}";
    }
    out += profile.rules.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

std::string access_text(uint8_t access)
{
    std::string text;
    if ((access & CGFENCE_ACCESS_READ) != 0)
        text += 'r';
    if ((access & CGFENCE_ACCESS_WRITE) != 0)
        text += 'w';
    if ((access & CGFENCE_ACCESS_EXEC) != 0)
        text += 'x';
    return text;
}

const char *mode_name(ProfileMode mode)
{
    switch (mode) {
    case ProfileMode::enforce:
        return "enforce";
    case ProfileMode::audit:
        return "audit";
    case ProfileMode::learn:
        return "learn";
    }
    return "?";
}

} // namespace cgfence
