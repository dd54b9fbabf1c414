#include <doctest/doctest.h>

#include <filesystem>
#include <linux/magic.h>
#include <sys/stat.h>

#include "abi.hpp"
#include "profile.hpp"
#include "sandbox.hpp"

using namespace cgfence;

namespace {

constexpr uint8_t R = CGFENCE_ACCESS_READ, W = CGFENCE_ACCESS_WRITE, X = CGFENCE_ACCESS_EXEC;

// Every error of a profile text, read as "t.json".
std::vector<std::string> errors_of(const std::string &text)
{
    return check_profile(text, "t.json").errors;
}

// The one error of a profile text.
std::string error_of(const std::string &text)
{
    const std::vector<std::string> errors = errors_of(text);
    REQUIRE(errors.size() == 1);
    return errors.front();
}

// A profile of one rule, on line 3.
std::string with_rule(const std::string &rule)
{
    return "{\n  \"default\": \"deny\",\n  \"rules\": [" + rule + "]\n}\n";
}

Profile parsed(const std::string &text)
{
    auto profile = parse_profile(text, "t.json");
    REQUIRE_MESSAGE(profile.ok(), profile.error().message());
    return *profile;
}

std::string shipped(const std::string &name)
{
    return std::string(CGFENCE_SOURCE_DIR) + "/packaging/profiles/" + name + ".json";
}

} // namespace

TEST_CASE("profile: every valid form parses, with each rule's line")
{
    const Profile profile = parsed(R"({
  "mode": "audit",
  "default": "deny",
  "rules": [
    {"path": "/usr", "access": "rx"},
    {"path": "/", "access": "r", "recursive": false},
    {"fs": "proc", "access": "r"},
    {
      "access": "",
      "path": "/etc/shadow"
    },
    {"path": "/tmp", "access": "xwr", "recursive": true}
  ]
})");
    CHECK(profile.mode == ProfileMode::audit);
    CHECK_FALSE(profile.default_allow);
    CHECK(profile.warnings.empty());
    REQUIRE(profile.rules.size() == 5);
    const ProfileRule &usr = profile.rules[0];
    CHECK(usr.path == "/usr");
    CHECK(usr.fs.empty());
    CHECK(usr.access == (R | X));
    CHECK(usr.recursive);
    CHECK(usr.line == 5);
    CHECK(profile.rules[1].path == "/");
    CHECK_FALSE(profile.rules[1].recursive);
    CHECK(profile.rules[1].line == 6);
    const ProfileRule &proc = profile.rules[2];
    CHECK(proc.path.empty());
    CHECK(proc.fs == "proc");
    CHECK(proc.fs_magic == PROC_SUPER_MAGIC);
    CHECK(proc.access == R);
    CHECK(proc.line == 7);
    CHECK(profile.rules[3].path == "/etc/shadow");
    CHECK(profile.rules[3].access == 0);
    CHECK(profile.rules[3].line == 8);
    CHECK(profile.rules[4].access == (R | W | X));
    CHECK(profile.rules[4].line == 12);
}

TEST_CASE("profile: mode is optional (enforce), rules are optional, learn and allow parse")
{
    const Profile bare = parsed(R"({"default": "allow", "rules": [{"path": "/", "access": "r"}]})");
    CHECK(bare.mode == ProfileMode::enforce);
    CHECK(bare.default_allow);
    const Profile learn = parsed(R"({"mode": "learn", "default": "deny"})");
    CHECK(learn.mode == ProfileMode::learn);
    CHECK(learn.rules.empty());
    CHECK(parsed(R"({"default": "deny", "rules": []})").rules.empty());
}

TEST_CASE("profile: paths are normalized lexically; /proc entries with stable inodes are kept")
{
    const Profile profile = parsed(with_rule(R"({"path": "//usr///bin/", "access": "rx"},
        {"path": "///", "access": "r", "recursive": false},
        {"path": "/proc", "access": "r"},
        {"path": "/proc/cpuinfo", "access": "r"},
        {"path": "/procfoo/1", "access": "r"})"));
    REQUIRE(profile.rules.size() == 5);
    CHECK(profile.rules[0].path == "/usr/bin");
    CHECK(profile.rules[1].path == "/");
    CHECK(profile.rules[2].path == "/proc");
    CHECK(profile.rules[3].path == "/proc/cpuinfo");
    CHECK(profile.rules[4].path == "/procfoo/1");
}

TEST_CASE("profile: an unknown key is refused, at the top and in a rule")
{
    CHECK(
        error_of(
            "{\n  \"mode\": \"enforce\",\n  \"defualt\": \"deny\",\n  \"default\": \"deny\"\n}") ==
        "t.json:3: unknown key \"defualt\" (known: mode, default, rules)");
    CHECK(error_of(with_rule(R"({"path": "/usr", "acess": "rx", "access": "rx"})")) ==
          "t.json:3: unknown key \"acess\" (known: path, fs, access, recursive)");
}

TEST_CASE("profile: a repeated key is refused with the line of the first")
{
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"default\": \"allow\"\n}") ==
          "t.json:3: duplicate key \"default\" (first at line 2)");
}

TEST_CASE("profile: access letters are r, w and x, each at most once")
{
    CHECK(error_of(with_rule(R"({"path": "/usr", "access": "rwz"})")) ==
          "t.json:3: access \"rwz\" has an unknown letter 'z' (use letters of \"rwx\", or \"\" "
          "to deny)");
    CHECK(error_of(with_rule(R"({"path": "/usr", "access": "R"})")) ==
          "t.json:3: access \"R\" has an unknown letter 'R' (use letters of \"rwx\", or \"\" to "
          "deny)");
    CHECK(error_of(with_rule(R"({"path": "/usr", "access": "r\u0007"})")) ==
          "t.json:3: access \"r\\u0007\" has an unknown character (use letters of \"rwx\", or "
          "\"\" to deny)");
    CHECK(error_of(with_rule(R"({"path": "/usr", "access": "rxr"})")) ==
          "t.json:3: access \"rxr\" repeats 'r' (use each of r, w and x at most once)");
}

TEST_CASE("profile: a rule path is absolute")
{
    CHECK(error_of(with_rule(R"({"path": "etc", "access": "r"})")) ==
          "t.json:3: path \"etc\" is relative (rule paths are absolute, as seen inside the "
          "container)");
    CHECK(error_of(with_rule(R"({"path": "", "access": "r"})")) ==
          "t.json:3: path is empty (write an absolute path, e.g. \"/usr\")");
    CHECK(error_of(with_rule(R"({"path": "/a\u0000b", "access": "r"})")) ==
          "t.json:3: path \"/a\\u0000b\" has a NUL character (remove it)");
}

TEST_CASE("profile: \".\" and \"..\" components are refused, not resolved")
{
    CHECK(error_of(with_rule(R"({"path": "/usr/../etc", "access": "r"})")) ==
          "t.json:3: path \"/usr/../etc\" has a \"..\" component (a rule path is what the "
          "container sees: write it without \".\" or \"..\")");
    CHECK(error_of(with_rule(R"({"path": "/usr/./bin", "access": "r"})")) ==
          "t.json:3: path \"/usr/./bin\" has a \".\" component (a rule path is what the "
          "container sees: write it without \".\" or \"..\")");
}

TEST_CASE("profile: a path component longer than NAME_MAX is refused (found by fuzzing)")
{
    const std::string name(256, 'a');
    CHECK(error_of(with_rule(R"({"path": "/etc/)" + name + R"(", "access": "r"})")) ==
          "t.json:3: path \"/etc/" + name +
              "\" has a component longer than 255 bytes (no file can have that name)");
    CHECK(
        errors_of(with_rule(R"({"path": "/etc/)" + std::string(255, 'a') + R"(", "access": "r"})"))
            .empty());
}

TEST_CASE("profile: a rule names a path or a filesystem, exactly one")
{
    CHECK(error_of(
              with_rule("\n    {\"path\": \"/a\",\n     \"fs\": \"proc\", \"access\": \"r\"}")) ==
          "t.json:5: a rule has both \"path\" and \"fs\" (a rule names one: make it two rules)");
    CHECK(error_of(with_rule("\n    {\n     \"access\": \"r\"}")) ==
          "t.json:4: a rule has neither \"path\" nor \"fs\" (add \"path\": \"/...\" or \"fs\": "
          "\"proc\", ...)");
}

TEST_CASE("profile: a rule without access is refused")
{
    CHECK(
        error_of(with_rule(R"({"path": "/usr"})")) ==
        "t.json:3: rule for \"/usr\" has no \"access\" (add \"access\": \"rx\", or \"\" to deny)");
}

TEST_CASE("profile: an unknown filesystem type is refused, naming the known ones")
{
    const std::string error = error_of(with_rule(R"({"fs": "procfs", "access": "r"})"));
    CHECK(error.starts_with("t.json:3: unknown filesystem \"procfs\" (known: proc, sysfs, tmpfs, "
                            "devtmpfs, devpts, mqueue, cgroup2, "));
    CHECK(error.ends_with(", pipefs)"));
}

TEST_CASE("profile: two rules for one path are refused, after normalization")
{
    CHECK(error_of(with_rule("{\"path\": \"/usr\", \"access\": \"rx\"},\n"
                             "{\"path\": \"/usr/\", \"access\": \"r\"}")) ==
          "t.json:4: duplicate rule for \"/usr\" (first at line 3)");
}

TEST_CASE("profile: two rules for one filesystem type are refused, aliases included")
{
    CHECK(error_of(with_rule("{\"fs\": \"proc\", \"access\": \"r\"},\n"
                             "{\"fs\": \"proc\", \"access\": \"rw\"}")) ==
          "t.json:4: duplicate rule for filesystem \"proc\" (first at line 3)");
    CHECK(error_of(with_rule("{\"fs\": \"tmpfs\", \"access\": \"r\"},\n\n"
                             "{\"fs\": \"devtmpfs\", \"access\": \"rw\"}")) ==
          "t.json:5: filesystem \"devtmpfs\" is the same type as \"tmpfs\" at line 3 (the kernel "
          "cannot tell them apart: keep one rule)");
}

TEST_CASE("profile: \"recursive\" on a filesystem rule is refused at its line")
{
    CHECK(error_of(with_rule("{\"fs\": \"sysfs\", \"access\": \"r\",\n \"recursive\": false}")) ==
          "t.json:4: \"recursive\" is for path rules (a filesystem rule covers every mount of its "
          "type: remove it)");
}

TEST_CASE("profile: path rules under /proc/<pid> are refused")
{
    CHECK(error_of(with_rule(R"({"path": "/proc/1/environ", "access": "r"})")) ==
          "t.json:3: path \"/proc/1/environ\" is under /proc/<pid> (inode numbers there change; "
          "use {\"fs\": \"proc\", ...})");
    CHECK(error_of(with_rule(R"({"path": "/proc/42", "access": "r"})")) ==
          "t.json:3: path \"/proc/42\" is under /proc/<pid> (inode numbers there change; use "
          "{\"fs\": \"proc\", ...})");
}

TEST_CASE("profile: path rules under /proc/self, /proc/thread-self and their symlinks are refused")
{
    CHECK(error_of(with_rule(R"({"path": "/proc//self/fd", "access": "r"})")) ==
          "t.json:3: path \"/proc//self/fd\" is under /proc/self (inode numbers there change; use "
          "{\"fs\": \"proc\", ...})");
    CHECK(error_of(with_rule(R"({"path": "/proc/thread-self", "access": "r"})")) ==
          "t.json:3: path \"/proc/thread-self\" is under /proc/thread-self (inode numbers there "
          "change; use {\"fs\": \"proc\", ...})");
    CHECK(error_of(with_rule(R"({"path": "/proc/net/tcp", "access": "r"})")) ==
          "t.json:3: path \"/proc/net/tcp\" is under /proc/net, a symlink into /proc/self (inode "
          "numbers there change; use {\"fs\": \"proc\", ...})");
}

TEST_CASE("profile: path rules on and under /proc/sys are refused")
{
    CHECK(error_of(with_rule(R"({"path": "/proc/sys/kernel/core_pattern", "access": "r"})")) ==
          "t.json:3: path \"/proc/sys/kernel/core_pattern\" is under /proc/sys (inode numbers "
          "there change; use {\"fs\": \"proc\", ...})");
    CHECK(error_of(with_rule(R"({"path": "/proc/sys", "access": "r"})")) ==
          "t.json:3: path \"/proc/sys\" is under /proc/sys (inode numbers there change; use "
          "{\"fs\": \"proc\", ...})");
}

TEST_CASE("profile: values of the wrong JSON type are refused at the value's line")
{
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"mode\":\n    1\n}") ==
          "t.json:4: \"mode\" is a number (use a string: \"enforce\", \"audit\" or \"learn\")");
    CHECK(error_of("{\n  \"default\": false\n}") ==
          "t.json:2: \"default\" is a boolean (use a string: \"allow\" or \"deny\")");
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"rules\": {\"path\": \"/\"}\n}") ==
          "t.json:3: \"rules\" is an object (use an array of rules: [{\"path\": \"/usr\", "
          "\"access\": \"rx\"}, ...])");
    CHECK(error_of(with_rule(R"("/usr")")) ==
          "t.json:3: a rule is a string (each rule is an object, e.g. {\"path\": \"/usr\", "
          "\"access\": \"rx\"})");
    CHECK(error_of(with_rule(R"({"path": ["/usr"], "access": "r"})")) ==
          "t.json:3: \"path\" is an array (use a string: an absolute path as seen in the "
          "container)");
    CHECK(error_of(with_rule(R"({"fs": null, "access": "r"})")) ==
          "t.json:3: \"fs\" is null (use a string: a filesystem type, e.g. \"proc\")");
    CHECK(error_of(with_rule(R"({"path": "/", "access": "r", "recursive": "no"})")) ==
          "t.json:3: \"recursive\" is a string (use true or false, without quotes)");
}

TEST_CASE("profile: a number before a newline is on its own line, not the next")
{
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"rules\": [{\"path\": \"/usr\",\n"
                   "    \"access\": 5\n  }]\n}") ==
          "t.json:4: \"access\" is a number (use a string of letters of \"rwx\", or \"\" to deny)");
}

TEST_CASE("profile: values of mode and default are checked")
{
    CHECK(error_of(R"({"mode": "enforcing", "default": "deny"})") ==
          "t.json:1: mode \"enforcing\" is not a mode (use \"enforce\", \"audit\" or \"learn\")");
    CHECK(error_of("{\n\"default\": \"yes\"}") ==
          "t.json:2: default \"yes\" is not allow or deny (use \"allow\" or \"deny\")");
}

TEST_CASE("profile: \"default\" is required, reported where the profile starts")
{
    CHECK(
        error_of("\n\n{\n  \"mode\": \"enforce\"\n}\n") ==
        "t.json:3: no \"default\" (add \"default\": \"deny\" or \"allow\": what objects without a "
        "rule get)");
}

TEST_CASE("profile: a syntax error names its line")
{
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"rules\": [\n    {\"path\": \"/usr\" "
                   "\"access\": \"rx\"}\n  ]\n}\n") ==
          "t.json:4: JSON syntax error: unexpected string literal; expected '}' (profiles are "
          "strict JSON: double quotes, no comments, no trailing commas)");
    CHECK(error_of("{\n  \"default\": \"deny\", // no comments\n}") ==
          "t.json:2: JSON syntax error: invalid literal; last read: '\"deny\", /'; expected string "
          "literal "
          "(profiles are strict JSON: double quotes, no comments, no trailing commas)");
}

TEST_CASE("profile: a file cut short is a syntax error at its last line with text")
{
    CHECK(error_of("{\n  \"default\": \"deny\",\n  \"rules\": [\n\n\n") ==
          "t.json:3: JSON syntax error: unexpected end of input; expected '[', '{', or a literal "
          "(profiles are strict JSON: double quotes, no comments, no trailing commas)");
}

TEST_CASE("profile: an empty file and a non-object are refused")
{
    const std::string empty = "t.json:1: the file is empty (a profile is a JSON object, e.g. "
                              "{\"default\": \"deny\", \"rules\": []})";
    CHECK(error_of("") == empty);
    CHECK(error_of(" \n\t\n") == empty);
    CHECK(error_of("\n[{\"path\": \"/\"}]") == "t.json:2: a profile is a JSON object, not an array "
                                               "(write {\"default\": \"deny\", \"rules\": [...]})");
}

TEST_CASE("profile: every error is reported in file order; parse_profile gives the first")
{
    const std::string text = "{\n  \"rules\": [\n    {\"path\": \"etc\", \"access\": \"r\"},\n"
                             "    {\"fs\": \"nope\", \"access\": \"rq\"}\n  ]\n}\n";
    const std::vector<std::string> errors = errors_of(text);
    REQUIRE(errors.size() == 4);
    CHECK(errors[0].starts_with("t.json:1: no \"default\""));
    CHECK(errors[1].starts_with("t.json:3: path \"etc\" is relative"));
    CHECK(errors[2].starts_with("t.json:4: unknown filesystem \"nope\""));
    CHECK(errors[3].starts_with("t.json:4: access \"rq\" has an unknown letter 'q'"));
    auto profile = parse_profile(text, "t.json");
    REQUIRE_FALSE(profile.ok());
    CHECK(profile.error().message() == "profile: " + errors[0]);
}

TEST_CASE("profile: warnings for x without r and for a profile that confines nothing")
{
    const Profile exec_only = parsed(with_rule(R"({"path": "/opt/app", "access": "x"})"));
    REQUIRE(exec_only.warnings.size() == 1);
    CHECK(exec_only.warnings[0] == "t.json:3: access \"x\" has x without r (shared libraries and "
                                   "scripts need both: use \"rx\")");
    const Profile open = parsed("{\"default\": \"allow\",\n\"rules\": [{\"fs\": \"proc\", "
                                "\"access\": \"rwx\"}]}");
    REQUIRE(open.warnings.size() == 1);
    CHECK(open.warnings[0] == "t.json:1: default \"allow\" and no rule takes a right away: this "
                              "profile confines nothing (add rules, or use \"default\": \"deny\")");
}

TEST_CASE("profile names are [A-Za-z0-9._-]+, not . or ..")
{
    CHECK(valid_profile_name("minimal"));
    CHECK(valid_profile_name("web-1.2_b"));
    CHECK(valid_profile_name("...x"));
    CHECK_FALSE(valid_profile_name(""));
    CHECK_FALSE(valid_profile_name("."));
    CHECK_FALSE(valid_profile_name(".."));
    CHECK_FALSE(valid_profile_name("a/b"));
    CHECK_FALSE(valid_profile_name("../etc/passwd"));
    CHECK_FALSE(valid_profile_name("a b"));
    CHECK_FALSE(valid_profile_name("caf\xc3\xa9"));
}

TEST_CASE("load_profile: the first directory that has NAME.json wins")
{
    test::TempDir tmp;
    std::filesystem::create_directories(tmp / "etc");
    std::filesystem::create_directories(tmp / "share");
    test::write_file(tmp / "etc/web.json", R"({"default": "allow"})");
    test::write_file(tmp / "share/web.json", R"({"default": "deny"})");
    test::write_file(tmp / "share/base.json", R"({"default": "deny"})");
    const std::vector<std::string> dirs = {(tmp / "missing").string(), (tmp / "etc").string(),
                                           (tmp / "share").string()};
    auto web = load_profile("web", dirs);
    REQUIRE(web.ok());
    CHECK(web->name == "web");
    CHECK(web->default_allow);
    auto base = load_profile("base", dirs);
    REQUIRE(base.ok());
    CHECK(base->name == "base");
    CHECK_FALSE(base->default_allow);
}

TEST_CASE("load_profile: a missing profile names every directory searched")
{
    test::TempDir tmp;
    const std::string a = (tmp / "a").string(), b = (tmp / "b").string();
    auto profile = load_profile("web", {a, b});
    REQUIRE_FALSE(profile.ok());
    CHECK(profile.error().errnum == ENOENT);
    CHECK(profile.error().message() ==
          "load profile web: No such file or directory (no web.json in " + a + ", " + b + ")");
    CHECK(load_profile("web", {}).error().detail == "no web.json in any directory: none given");
}

TEST_CASE("load_profile: an invalid name is refused before any file is opened")
{
    auto profile = load_profile("../../etc/passwd", {"/"});
    REQUIRE_FALSE(profile.ok());
    CHECK(profile.error().message() == "load profile \"../../etc/passwd\": not a profile name "
                                       "(use letters, digits, '.', '_' and '-')");
}

TEST_CASE("load_profile: errors name the file and line; a bad file does not fall through")
{
    test::TempDir tmp;
    std::filesystem::create_directories(tmp / "etc");
    std::filesystem::create_directories(tmp / "share");
    test::write_file(tmp / "etc/web.json", "{\n  \"default\": \"maybe\"\n}\n");
    test::write_file(tmp / "share/web.json", R"({"default": "deny"})");
    const std::vector<std::string> dirs = {(tmp / "etc").string(), (tmp / "share").string()};
    auto bad = load_profile("web", dirs);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message() == "profile: " + (tmp / "etc/web.json").string() +
                                       ":2: default \"maybe\" is not allow or deny (use \"allow\" "
                                       "or \"deny\")");

    std::filesystem::create_directories(tmp / "etc/dir.json");
    test::write_file(tmp / "share/dir.json", R"({"default": "deny"})");
    auto dir = load_profile("dir", dirs);
    REQUIRE_FALSE(dir.ok());
    CHECK(dir.error().message() == "open profile " + (tmp / "etc/dir.json").string() +
                                       ": not a regular file (a profile is a NAME.json file)");
}

TEST_CASE("load_profile: symlinks are followed; files over 1 MiB are refused")
{
    test::TempDir tmp;
    test::write_file(tmp / "real.json", R"({"default": "deny"})");
    std::filesystem::create_symlink(tmp / "real.json", tmp / "link.json");
    auto linked = load_profile("link", {tmp.path().string()});
    REQUIRE(linked.ok());
    CHECK(linked->name == "link");

    test::write_file(tmp / "big.json", "{\"default\": \"deny\"}" + std::string(1 << 20, ' '));
    auto big = load_profile("big", {tmp.path().string()});
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().message() ==
          "read profile " + (tmp / "big.json").string() + ": larger than 1 MiB (is it a profile?)");
}

TEST_CASE("filesystem names map to <linux/magic.h>; aliases share a magic")
{
    CHECK(filesystem_magic("proc") == PROC_SUPER_MAGIC);
    CHECK(filesystem_magic("sysfs") == SYSFS_MAGIC);
    CHECK(filesystem_magic("tmpfs") == TMPFS_MAGIC);
    CHECK(filesystem_magic("devtmpfs") == TMPFS_MAGIC);
    CHECK(filesystem_magic("cgroup2") == CGROUP2_SUPER_MAGIC);
    CHECK(filesystem_magic("overlay") == OVERLAYFS_SUPER_MAGIC);
    CHECK(filesystem_magic("ext4") == EXT4_SUPER_MAGIC);
    CHECK(filesystem_magic("xfs") == XFS_SUPER_MAGIC);
    CHECK(filesystem_magic("bpf") == BPF_FS_MAGIC);
    CHECK(filesystem_magic("mqueue") == 0x19800202);
    CHECK(filesystem_magic("configfs") == 0x62656570);
    CHECK(filesystem_magic("fuse") == filesystem_magic("virtiofs"));
    CHECK_FALSE(filesystem_magic("procfs").has_value());
    CHECK_FALSE(filesystem_magic("").has_value());
}

TEST_CASE("access_text and mode_name")
{
    CHECK(access_text(0).empty());
    CHECK(access_text(R) == "r");
    CHECK(access_text(X | R) == "rx");
    CHECK(access_text(R | W | X) == "rwx");
    CHECK(std::string(mode_name(ProfileMode::enforce)) == "enforce");
    CHECK(std::string(mode_name(ProfileMode::audit)) == "audit");
    CHECK(std::string(mode_name(ProfileMode::learn)) == "learn");
}

TEST_CASE("shipped profiles: minimal denies by default and enforces, without warnings")
{
    auto minimal =
        load_profile("minimal", {std::string(CGFENCE_SOURCE_DIR) + "/packaging/profiles"});
    REQUIRE_MESSAGE(minimal.ok(), minimal.error().message());
    CHECK(minimal->mode == ProfileMode::enforce);
    CHECK_FALSE(minimal->default_allow);
    CHECK(minimal->warnings.empty());
    const ProfileRule &root = minimal->rules.front();
    CHECK(root.path == "/");
    CHECK_FALSE(root.recursive);
}

TEST_CASE("shipped profiles: audit is minimal's rules in audit mode")
{
    auto text = read_profile_file(shipped("audit"));
    REQUIRE(text.ok());
    const Profile audit = parsed(*text);
    CHECK(audit.mode == ProfileMode::audit);
    CHECK_FALSE(audit.default_allow);
    auto minimal_text = read_profile_file(shipped("minimal"));
    REQUIRE(minimal_text.ok());
    const Profile minimal = parsed(*minimal_text);
    REQUIRE(audit.rules.size() == minimal.rules.size());
    for (size_t i = 0; i < audit.rules.size(); i++) {
        CHECK(audit.rules[i].path == minimal.rules[i].path);
        CHECK(audit.rules[i].fs == minimal.rules[i].fs);
        CHECK(audit.rules[i].access == minimal.rules[i].access);
        CHECK(audit.rules[i].recursive == minimal.rules[i].recursive);
    }
}

TEST_CASE("shipped profiles: default allows by default, enforces, no exec from /tmp")
{
    auto text = read_profile_file(shipped("default"));
    REQUIRE(text.ok());
    const Profile profile = parsed(*text);
    CHECK(profile.mode == ProfileMode::enforce);
    CHECK(profile.default_allow);
    CHECK(profile.warnings.empty());
    for (const ProfileRule &rule : profile.rules) {
        CAPTURE(rule.line);
        const bool writable_and_executable = (rule.access & W) != 0 && (rule.access & X) != 0;
        CHECK_FALSE(writable_and_executable);
    }
}
