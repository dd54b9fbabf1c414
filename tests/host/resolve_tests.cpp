// Rule paths resolve inside the container's rootfs, whatever the image holds:
// absolute and relative symlinks, ".." chains, loops and magic links either
// stay inside or fail; never a host file.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <filesystem>
#include <sys/mount.h>
#include <unistd.h>

#include "container_view.hpp"
#include "policy_compiler.hpp"
#include "sandbox.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

// A rootfs whose files differ from the host's, full of hostile links.
struct HostileRootfs {
    TempDir dir;
    fs::path root = dir / "rootfs";
    HostileRootfs()
    {
        fs::create_directories(root / "etc");
        fs::create_directories(root / "a/b/c");
        fs::create_directories(root / "proc");
        write_file(root / "etc/hostname", "inside\n");
        write_file(root / "etc/shadow", "inside shadow\n");
        fs::create_symlink("/etc/shadow", root / "etc/passwd");            // absolute
        fs::create_symlink("../../../../../../../etc", root / "a/b/c/up"); // relative, too far
        fs::create_symlink("/a/b/c/up/hostname", root / "chain");          // link to a link
        fs::create_symlink("loop2", root / "loop1");
        fs::create_symlink("loop1", root / "loop2");
        fs::create_symlink("/proc/self/root/etc/hostname", root / "magic");
        fs::create_symlink("/nonexistent/host/path", root / "dangling");
    }
    ContainerView view() const
    {
        auto v = ContainerView::open_directory(root.string());
        REQUIRE(v.ok());
        return std::move(*v);
    }
};

bool same_object(const Result<ObjectKey> &key, const fs::path &expected)
{
    if (!key.ok())
        return false;
    const ObjectKey want = key_of(expected);
    return key->dev == want.dev && key->ino == want.ino;
}

} // namespace

TEST_CASE("an absolute symlink in the image resolves inside the rootfs")
{
    HostileRootfs r;
    ContainerView view = r.view();
    CHECK(same_object(view.key("/etc/passwd"), r.root / "etc/shadow"));
    CHECK_FALSE(same_object(view.key("/etc/passwd"), "/etc/shadow"));
}

TEST_CASE("relative symlinks and .. chains cannot climb above the rootfs")
{
    HostileRootfs r;
    ContainerView view = r.view();
    CHECK(same_object(view.key("/a/b/c/up/hostname"), r.root / "etc/hostname"));
    CHECK(same_object(view.key("/chain"), r.root / "etc/hostname"));
    CHECK(same_object(view.key("/../../../etc/hostname"), r.root / "etc/hostname"));
    CHECK(same_object(view.key("/"), r.root));
}

TEST_CASE("symlink loops and dangling links fail to resolve, they do not escape")
{
    HostileRootfs r;
    ContainerView view = r.view();
    auto loop = view.key("/loop1");
    REQUIRE_FALSE(loop.ok());
    CHECK(loop.error().errnum == ELOOP);
    auto dangling = view.key("/dangling");
    REQUIRE_FALSE(dangling.ok());
    CHECK(dangling.error().errnum == ENOENT);
}

TEST_CASE("a magic link through the container's /proc is refused")
{
    HostileRootfs r;
    REQUIRE(::mount("proc", (r.root / "proc").c_str(), "proc", 0, nullptr) == 0);
    ContainerView view = r.view();
    auto magic = view.key("/magic");
    ::umount2((r.root / "proc").c_str(), MNT_DETACH);
    REQUIRE_FALSE(magic.ok());
    CHECK(magic.error().errnum == ELOOP);
}

TEST_CASE("compiling a profile resolves rules in the view and skips what is absent")
{
    HostileRootfs r;
    fs::create_directories(r.root / "data");
    REQUIRE(::mount("tmpfs", (r.root / "data").c_str(), "tmpfs", 0, nullptr) == 0);
    Profile profile;
    profile.default_allow = false;
    profile.rules = {
        ProfileRule{"/etc", "", 0, CGFENCE_ACCESS_READ, true, 1},
        ProfileRule{"/", "", 0, CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE, true, 2},
        ProfileRule{"/not/there", "", 0, CGFENCE_ACCESS_READ, true, 3},
        ProfileRule{"/loop1", "", 0, CGFENCE_ACCESS_READ, true, 4},
        ProfileRule{"", "proc", 0x9fa0, CGFENCE_ACCESS_READ, true, 5},
    };
    ContainerView view = r.view();
    auto compiled = compile_policy(profile, view, CompileOptions{});
    const ObjectKey data_root = key_of(r.root / "data");
    ::umount2((r.root / "data").c_str(), MNT_DETACH);
    REQUIRE(compiled.ok());
    CHECK(compiled->rules_resolved == 2);
    CHECK(compiled->skipped == std::vector<std::string>{"/not/there", "/loop1"});
    const auto &rules = compiled->policy.rules;
    const ObjectKey etc = key_of(r.root / "etc");
    CHECK(rules.at(PolicyKey{CGFENCE_KEY_INODE, etc.dev, etc.ino}).access == CGFENCE_ACCESS_READ);
    // The tmpfs on /data is below "/" (rw): its root carries that rule.
    const PolicyRule carried = rules.at(PolicyKey{CGFENCE_KEY_INODE, data_root.dev, data_root.ino});
    CHECK(carried.access == (CGFENCE_ACCESS_READ | CGFENCE_ACCESS_WRITE));
    CHECK(carried.flags == 0);
    CHECK(rules.at(PolicyKey{CGFENCE_KEY_FSTYPE, 0, 0x9fa0}).access == CGFENCE_ACCESS_READ);
}

TEST_CASE("the directories holding a restrictive rule's object are held; a rule that takes "
          "nothing away holds none; each rule keeps its path's id")
{
    HostileRootfs r;
    fs::create_directories(r.root / "a/b/secret");
    fs::create_directories(r.root / "p/q/open");
    Profile profile;
    profile.default_allow = true;
    profile.rules = {
        ProfileRule{"/a/b/secret", "", 0, 0, true, 1},
        ProfileRule{"/p/q/open", "", 0, CGFENCE_ACCESS_ALL, true, 2},
    };
    ContainerView view = r.view();
    auto compiled = compile_policy(profile, view, CompileOptions{});
    REQUIRE(compiled.ok());
    auto key = [&](const char *path) {
        const ObjectKey k = key_of(r.root / path);
        return PolicyKey{CGFENCE_KEY_RULE_HOLDER, k.dev, k.ino};
    };
    const std::set<PolicyKey> &held = compiled->policy.rule_holders;
    CHECK(held == std::set<PolicyKey>{key("a"), key("a/b")});
    const ObjectKey secret = key_of(r.root / "a/b/secret");
    CHECK(compiled->policy.rules.at(PolicyKey{CGFENCE_KEY_INODE, secret.dev, secret.ino}).path_id ==
          rule_path_id("/a/b/secret"));
    CHECK(rule_path_id("/a/b/secret") != rule_path_id("/p/q/open"));
}

TEST_CASE("overlay layer directories come from the mount options")
{
    CHECK(overlay_layers("rw,lowerdir=/l1:/l2,upperdir=/s/o/id/diff,workdir=/s/o/id/work") ==
          std::vector<std::string>{"/l1", "/l2", "/s/o/id/diff", "/s/o/id/work"});
    // containers/storage's short links are relative to the overlay directory.
    CHECK(overlay_layers(
              "lowerdir=l/ABC:l/DEF,upperdir=/s/overlay/id/diff,workdir=/s/overlay/id/work") ==
          std::vector<std::string>{"/s/overlay/l/ABC", "/s/overlay/l/DEF", "/s/overlay/id/diff",
                                   "/s/overlay/id/work"});
    // The new mount API lists layers one by one; a ':' inside a path is escaped.
    CHECK(overlay_layers("lowerdir+=/a,lowerdir+=/b,datadir+=/d,upperdir=/u,workdir=/w") ==
          std::vector<std::string>{"/a", "/b", "/d", "/u", "/w"});
    CHECK(overlay_layers("lowerdir=/odd\\:name:/x,upperdir=/u,workdir=/w") ==
          std::vector<std::string>{"/odd:name", "/x", "/u", "/w"});
}
