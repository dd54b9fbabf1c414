// Changes to directories and files: create, mknod, mkdir, symlink, unlink,
// rmdir, rename, setattr, truncate, xattrs; across mounts of the view.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

// ro/ readable only, rw/ read-write, each with a file and a subdirectory.
struct Dirs {
    TempDir d;
    Dirs()
    {
        for (const char *sub : {"ro", "rw"}) {
            fs::create_directories(d / sub / "sub");
            write_file(d / sub / "f", "x");
        }
    }
    ContainerPolicy policy() const
    {
        PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
        rule(b, d / "ro", R);
        rule(b, d / "rw", R | W);
        return b.build();
    }
    std::string operator()(const std::string &rel) const { return (d / rel).string(); }
};

} // namespace

TEST_CASE("creating anything in a directory needs w on it")
{
    Dirs t;
    Container c("create", t.policy());
    for (const char *dir : {"ro", "rw"}) {
        const int want = std::string(dir) == "rw" ? 0 : EACCES;
        const std::string base = t(dir);
        CAPTURE(dir);
        CHECK(c.run([&] { return open_errno(base + "/new", O_CREAT | O_WRONLY); }) == want);
        CHECK(c.run([&] { return errno_of(::mkdir((base + "/newdir").c_str(), 0755)); }) == want);
        CHECK(c.run([&] { return errno_of(::mkfifo((base + "/fifo").c_str(), 0644)); }) == want);
        CHECK(c.run([&] { return errno_of(::symlink("f", (base + "/link").c_str())); }) == want);
    }
}

TEST_CASE("unlink, rmdir and rename in a non-writable directory are denied")
{
    Dirs t;
    Container c("remove", t.policy());
    CHECK(c.run([&] { return errno_of(::unlink(t("ro/f").c_str())); }) == EACCES);
    CHECK(c.run([&] { return errno_of(::rmdir(t("ro/sub").c_str())); }) == EACCES);
    CHECK(c.run([&] { return errno_of(::rename(t("ro/f").c_str(), t("rw/moved").c_str())); }) ==
          EACCES);
    CHECK(c.run([&] { return errno_of(::rename(t("rw/f").c_str(), t("ro/moved").c_str())); }) ==
          EACCES);
    CHECK(fs::exists(t("ro/f")));
    CHECK(c.run([&] { return errno_of(::rename(t("rw/f").c_str(), t("rw/renamed").c_str())); }) ==
          0);
    CHECK(c.run([&] { return errno_of(::unlink(t("rw/renamed").c_str())); }) == 0);
    CHECK(c.run([&] { return errno_of(::rmdir(t("rw/sub").c_str())); }) == 0);
}

TEST_CASE("a rename that would gain the moved object a right is denied; an own rule moves along "
          "but is no licence")
{
    TempDir d;
    fs::create_directories(d / "wr/inner");
    fs::create_directories(d / "wr/inner/box");
    write_file(d / "wr/inner/f", "x");
    write_file(d / "wr/inner/box/f", "x");
    write_file(d / "wr/secret", "x");
    write_file(d / "wr/own", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, d / "wr", R | W);
    rule(b, d / "wr/inner", W); // write-only drop box
    rule(b, d / "wr/inner/box", R | W, false);
    rule(b, d / "wr/secret", 0);
    rule(b, d / "wr/own", R | W);
    Container c("rename-gain", b.build());
    // f has w only (from inner/); in wr/ it would also be readable.
    CHECK(c.run([&] {
        return errno_of(::rename((d / "wr/inner/f").c_str(), (d / "wr/f").c_str()));
    }) == EACCES);
    // secret's own deny rule would move with it, but only until the policy is
    // resolved again (restart, apply): in inner/ a file without it gets w.
    CHECK(c.run([&] {
        return errno_of(::rename((d / "wr/secret").c_str(), (d / "wr/inner/s").c_str()));
    }) == EACCES);
    // box's own rule is non-recursive: in wr/ its file would be readable too.
    CHECK(c.run([&] {
        return errno_of(::rename((d / "wr/inner/box").c_str(), (d / "wr/box").c_str()));
    }) == EACCES);
    // own's rule takes nothing from inner/: it moves, and its rule with it.
    CHECK(c.run([&] {
        return errno_of(::rename((d / "wr/own").c_str(), (d / "wr/inner/s").c_str()));
    }) == 0);
    CHECK(c.run([&] { return open_errno(d / "wr/inner/s", O_RDONLY); }) == 0);
    // Replacing a denied file removes it: denied.
    write_file(d / "wr/other", "x");
    CHECK(c.run([&] {
        return errno_of(::rename((d / "wr/other").c_str(), (d / "wr/secret").c_str()));
    }) == EACCES);
}

TEST_CASE("a directory holding a restrictive rule's object is not renamed; its sibling is")
{
    TempDir d;
    fs::create_directories(d / "srv/box/vault");
    fs::create_directories(d / "srv/other");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, R | W);
    rule(b, d / "srv/box/vault", 0);
    const ObjectKey box = key_of(d / "srv/box");
    b.rule_holder(box.dev, box.ino);
    Container c("rule-holder", b.build());
    CHECK(c.run([&] {
        return errno_of(::rename((d / "srv/box").c_str(), (d / "srv/moved").c_str()));
    }) == EACCES);
    CHECK(c.run([&] {
        return errno_of(::rename((d / "srv/other").c_str(), (d / "srv/moved").c_str()));
    }) == 0);
}

TEST_CASE("chmod, utimes, truncate and xattrs need w on the object")
{
    Dirs t;
    Container c("setattr", t.policy());
    for (const char *file : {"ro/f", "rw/f"}) {
        const int want = std::string(file) == "rw/f" ? 0 : EACCES;
        const std::string path = t(file);
        CAPTURE(file);
        CHECK(c.run([&] { return errno_of(::chmod(path.c_str(), 0600)); }) == want);
        CHECK(c.run([&] { return errno_of(::utimes(path.c_str(), nullptr)); }) == want);
        CHECK(c.run([&] { return errno_of(::truncate(path.c_str(), 0)); }) == want);
        CHECK(c.run([&] {
            return errno_of(::setxattr(path.c_str(), "trusted.cgfence", "1", 1, 0));
        }) == want);
        CHECK(c.run([&] { return errno_of(::removexattr(path.c_str(), "trusted.cgfence")); }) ==
              (want == 0 ? 0 : EACCES));
    }
}

TEST_CASE("a rule on a directory covers a filesystem mounted below it once carried to its root")
{
    TempDir d;
    fs::create_directories(d / "vol");
    fs::create_directories(d / "bare");
    REQUIRE(::mount("tmpfs", (d / "vol").c_str(), "tmpfs", 0, nullptr) == 0);
    REQUIRE(::mount("tmpfs", (d / "bare").c_str(), "tmpfs", 0, nullptr) == 0);
    write_file(d / "vol/f", "x");
    write_file(d / "bare/f", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, d.path(), R | W);
    const ObjectKey top = key_of(d.path());
    const PolicyRule enclosing{R | W, 0};
    const ObjectKey vol = key_of(d / "vol");
    b.mount_root(vol.dev, vol.ino, &enclosing);
    const ObjectKey bare = key_of(d / "bare");
    b.mount_root(bare.dev, bare.ino, nullptr); // a boundary: the default applies below
    CHECK(top.dev != vol.dev);
    Container c("mounts", b.build());
    CHECK(c.run([&] { return open_errno(d / "vol/f", O_RDWR); }) == 0);
    CHECK(c.run([&] { return errno_of(::mkdir((d / "vol/newdir").c_str(), 0755)); }) == 0);
    CHECK(c.run([&] { return errno_of(::unlink((d / "vol/f").c_str())); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "bare/f", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return errno_of(::mkdir((d / "bare/newdir").c_str(), 0755)); }) == EACCES);
    ::umount2((d / "vol").c_str(), MNT_DETACH);
    ::umount2((d / "bare").c_str(), MNT_DETACH);
}

TEST_CASE("keys on an ext4 filesystem (a real device major) match")
{
    TempDir d;
    const fs::path image = d / "fs.img";
    const fs::path mnt = d / "mnt";
    fs::create_directories(mnt);
    REQUIRE(run_program({"truncate", "-s", "16M", image.string()}) == 0);
    REQUIRE(run_program({"mkfs.ext4", "-q", "-F", image.string()}, true) == 0);
    run_program({"modprobe", "-q", "loop"}, true);
    run_program({"modprobe", "-q", "ext4"}, true);
    REQUIRE(run_program({"mount", "-o", "loop", image.string(), mnt.string()}) == 0);
    fs::create_directories(mnt / "ok");
    fs::create_directories(mnt / "no");
    write_file(mnt / "ok/f", "x");
    write_file(mnt / "no/f", "x");
    const ObjectKey ok = key_of(mnt / "ok");
    CHECK((ok.dev >> 20) != 0); // a real major: the encoding matters here
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, RWX);
    rule(b, mnt / "ok", R);
    rule(b, mnt / "no", 0);
    {
        Container c("ext4", b.build());
        CHECK(c.run([&] { return open_errno(mnt / "ok/f", O_RDONLY); }) == 0);
        CHECK(c.run([&] { return open_errno(mnt / "ok/f", O_WRONLY); }) == EACCES);
        CHECK(c.run([&] { return open_errno(mnt / "no/f", O_RDONLY); }) == EACCES);
    }
    ::umount2(mnt.c_str(), MNT_DETACH);
}
