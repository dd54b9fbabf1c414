// learn_profile: observed accesses (already paths) to the fewest rules that
// cover them, the starting profile kept; and profile_json writes what
// parse_profile reads back.
#include <doctest/doctest.h>

#include "abi.hpp"
#include "profile_learner.hpp"

using namespace cgfence;

namespace {

constexpr uint8_t R = CGFENCE_ACCESS_READ;
constexpr uint8_t W = CGFENCE_ACCESS_WRITE;
constexpr uint8_t X = CGFENCE_ACCESS_EXEC;

Profile parsed(const std::string &text)
{
    auto profile = parse_profile(text, "test", "start");
    REQUIRE_MESSAGE(profile.ok(), profile.error().message());
    return *profile;
}

// The rules as one line each: "path access [nonrecursive]" or "fs:name access".
std::string rules_text(const Profile &profile)
{
    std::string out;
    for (const ProfileRule &rule : profile.rules) {
        out += rule.fs.empty() ? rule.path : "fs:" + rule.fs;
        out += " " + access_text(rule.access);
        if (rule.fs.empty() && !rule.recursive)
            out += " nonrecursive";
        out += "\n";
    }
    return out;
}

bool reported(const LearnedProfile &learned, const std::string &words)
{
    for (const std::string &line : learned.report) {
        if (line.find(words) != std::string::npos)
            return true;
    }
    return false;
}

LearnInput with_start(const std::string &start)
{
    LearnInput input;
    input.start = parsed(start);
    return input;
}

} // namespace

TEST_CASE("learn: files used get file rules with the rights used, the starting rules stay first")
{
    LearnInput in =
        with_start(R"({"default": "deny", "rules": [{"path": "/bin", "access": "rx"}]})");
    in.observed = {{"/srv/a", false, R}, {"/srv/a", false, R | W}, {"/opt/run", false, X}};
    in.entries = {{"/srv", 5}, {"/opt", 4}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/bin rx\n/opt/run x\n/srv/a rw\n");
    CHECK(out.profile.mode == ProfileMode::enforce);
    CHECK_FALSE(out.profile.default_allow);
}

TEST_CASE("learn: most of a directory used becomes one recursive rule with the union of rights")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {
        {"/srv/a", false, R}, {"/srv/b", false, R}, {"/srv/c", false, X}, {"/etc/one", false, R}};
    in.entries = {{"/srv", 4}, {"/etc", 3}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/etc/one r\n/srv rx\n");
    CHECK(reported(out, "/srv: one recursive rule, rx: 3 of its 4 entries were used"));
}

TEST_CASE("learn: a file written in a mostly used directory keeps its own rule; w is not passed on")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/srv/a", false, R}, {"/srv/b", false, R}, {"/srv/log", false, R | W}};
    in.entries = {{"/srv", 4}};
    CHECK(rules_text(learn_profile(in).profile) == "/srv r\n/srv/log rw\n");
}

TEST_CASE("learn: a directory where names were made keeps its rule inside a mostly used one")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/app/a", false, R}, {"/app/b", false, R}, {"/app/cache", true, W}};
    in.gone = {{"/app/cache", "tmp", R | W}};
    in.entries = {{"/app", 3}, {"/app/cache", 0}};
    CHECK(rules_text(learn_profile(in).profile) == "/app r\n/app/cache rw\n");
}

TEST_CASE("learn: a starting non-recursive rule on a collapsed directory becomes recursive")
{
    LearnInput in = with_start(
        R"({"default": "deny", "rules": [{"path": "/data", "access": "r", "recursive": false}]})");
    in.observed = {{"/data/x", false, R}, {"/data/y", false, R}};
    in.entries = {{"/data", 3}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/data r\n");
    CHECK(reported(out, "/data: the starting rule made recursive"));
}

TEST_CASE("learn: half of a directory, or one entry of it, stays file rules")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/srv/a", false, R}, {"/srv/b", false, R}, {"/one/x", false, R}};
    in.entries = {{"/srv", 4}, {"/one", 1}};
    CHECK(rules_text(learn_profile(in).profile) == "/one/x r\n/srv/a r\n/srv/b r\n");
}

TEST_CASE("learn: a collapsed subdirectory counts as used in its parent")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/app/lib/a", false, R}, {"/app/lib/b", false, R}, {"/app/main", false, X}};
    in.entries = {{"/app/lib", 2}, {"/app", 3}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/app rx\n");
}

TEST_CASE("learn: a directory where names were made gets a recursive rule, gone files included")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/var/cache/app", true, W}, {"/var/cache/app/kept", false, R | W}};
    in.gone = {{"/var/cache/app", "tmp.1", R | W}, {"/data", "scratch", W}};
    in.entries = {{"/var/cache/app", 10}, {"/data", 7}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/data w\n/var/cache/app rw\n");
    CHECK(reported(out, "/var/cache/app: one recursive rule, rw: names were made or removed"));
}

TEST_CASE("learn: names made in / keep a non-recursive rule on /, and the report says so")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/", true, R | W}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/ rw nonrecursive\n");
    CHECK(reported(out, "a file made in / at run time will be denied"));
}

TEST_CASE("learn: a directory only listed gets a non-recursive rule")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.observed = {{"/srv", true, R}};
    in.entries = {{"/", 9}};
    CHECK(rules_text(learn_profile(in).profile) == "/srv r nonrecursive\n");
}

TEST_CASE("learn: a learned rule keeps what the starting profile gave its path")
{
    // /etc r from the start: a file under it written (w denied) gets rw, not w alone.
    LearnInput in =
        with_start(R"({"default": "deny", "rules": [{"path": "/etc", "access": "r"}]})");
    in.observed = {{"/etc/app.conf", false, W}};
    in.entries = {{"/etc", 30}};
    CHECK(rules_text(learn_profile(in).profile) == "/etc r\n/etc/app.conf rw\n");
}

TEST_CASE("learn: a rule on a starting rule's path widens it, and the report says so")
{
    LearnInput in = with_start(
        R"({"default": "deny", "rules": [{"path": "/tmp", "access": "rw"}, {"fs": "proc", "access": "r"}]})");
    in.observed = {{"/tmp", true, X}};
    in.filesystems = {{"proc", R | W}, {"sysfs", R}};
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "/tmp rwx\nfs:proc rw\nfs:sysfs r\n");
    CHECK(reported(out, "/tmp: the starting rule widened from rw to rwx"));
    CHECK(reported(out, "fs proc: the starting rule widened from r to rw"));
    CHECK(reported(out, "fs sysfs: r: its objects are made per process"));
}

TEST_CASE("learn: a starting rule below a collapsed directory still decides what it covers")
{
    // /srv collapses, but /srv/secret's own "" rule is nearer: its file keeps a rule.
    LearnInput in =
        with_start(R"({"default": "deny", "rules": [{"path": "/srv/secret", "access": ""}]})");
    in.observed = {{"/srv/a", false, R}, {"/srv/b", false, R}, {"/srv/secret/key", false, R}};
    in.entries = {{"/srv", 3}, {"/srv/secret", 4}};
    CHECK(rules_text(learn_profile(in).profile) == "/srv/secret \n/srv r\n/srv/secret/key r\n");
}

TEST_CASE("learn: accesses not found and accesses lost are reported")
{
    LearnInput in = with_start(R"({"default": "deny"})");
    in.not_found = {"\"x\" (dev 0:5, inode 9, r): gone"};
    in.lost = 12;
    const LearnedProfile out = learn_profile(in);
    CHECK(rules_text(out.profile) == "");
    CHECK(reported(out, "not covered: \"x\" (dev 0:5, inode 9, r): gone"));
    CHECK(reported(out, "12 accesses were not remembered"));
}

TEST_CASE("profile_json: what it writes parses back to the same rules, and checks clean")
{
    const Profile start = parsed(R"({"mode": "audit", "default": "allow", "rules": [
        {"path": "/", "access": "r", "recursive": false}, {"path": "/a \"b\"", "access": "rwx"},
        {"fs": "proc", "access": ""}]})");
    const std::string text = profile_json(start);
    const Profile again = parsed(text);
    CHECK(rules_text(again) == rules_text(start));
    CHECK(again.mode == ProfileMode::audit);
    CHECK(again.default_allow);
    CHECK(check_profile(text, "x").errors.empty());
    CHECK(profile_json(parsed(R"({"default": "deny"})")) ==
          "{\n  \"mode\": \"enforce\",\n  \"default\": \"deny\",\n  \"rules\": []\n}\n");
}
