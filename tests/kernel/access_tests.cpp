// Rights r, w, x on files and directories; subtree, nearest rule, non-recursive
// rules, filesystem-type rules, defaults, and who is confined.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace cgfence;
using namespace cgfence::test;

namespace {

// A small tree: root/{ro/f, rw/f, none/f, x/tool}
struct Tree {
    TempDir dir;
    Tree()
    {
        for (const char *sub : {"ro", "rw", "none", "x"}) {
            std::filesystem::create_directory(dir / sub);
            write_file(dir / sub / "f", "data\n");
        }
        std::filesystem::copy_file("/bin/busybox", dir / "x" / "busybox");
        ::chmod((dir / "x" / "busybox").c_str(), 0755);
    }
    std::string operator()(const std::string &rel) const { return (dir / rel).string(); }
};

int exec_errno(const std::string &path, const std::vector<std::string> &args)
{
    std::vector<char *> argv;
    argv.reserve(args.size() + 1);
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    return errno;
}

} // namespace

TEST_CASE("r, w and x are allowed where granted and denied with EACCES elsewhere")
{
    Tree t;
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, t("ro"), R);
    rule(b, t("rw"), R | W);
    rule(b, t("x"), R | X);
    Container c("rwx", b.build());

    CHECK(c.run([&] { return open_errno(t("ro/f"), O_RDONLY); }) == 0);
    CHECK(c.run([&] { return open_errno(t("ro/f"), O_WRONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(t("ro/f"), O_RDWR); }) == EACCES);
    CHECK(c.run([&] { return open_errno(t("rw/f"), O_RDWR); }) == 0);
    CHECK(c.run([&] { return open_errno(t("rw/f"), O_WRONLY | O_TRUNC); }) == 0);
    CHECK(c.run([&] { return open_errno(t("none/f"), O_RDONLY); }) == EACCES);
    // Directories: listing needs r.
    CHECK(c.run([&] { return open_errno(t("ro"), O_RDONLY | O_DIRECTORY); }) == 0);
    CHECK(c.run([&] { return open_errno(t("none"), O_RDONLY | O_DIRECTORY); }) == EACCES);
    // Exec needs x: busybox from x/ runs, a copy in rw/ does not.
    std::filesystem::copy_file(t("x/busybox"), t("rw/busybox"));
    CHECK(c.run([&] { return exec_errno(t("x/busybox"), {"busybox", "true"}); }) == 0);
    CHECK(c.run([&] { return exec_errno(t("rw/busybox"), {"busybox", "true"}); }) == EACCES);
}

TEST_CASE("a directory rule covers its subtree and the nearest rule wins")
{
    TempDir d;
    std::filesystem::create_directories(d / "a/b/c/d");
    write_file(d / "a/f", "x");
    write_file(d / "a/b/f", "x");
    write_file(d / "a/b/c/f", "x");
    write_file(d / "a/b/c/d/f", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, d / "a", R | W);
    rule(b, d / "a/b", R);
    rule(b, d / "a/b/c", R | W);
    Container c("nearest", b.build());
    CHECK(c.run([&] { return open_errno(d / "a/f", O_RDWR); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "a/b/f", O_RDWR); }) == EACCES);
    CHECK(c.run([&] { return open_errno(d / "a/b/f", O_RDONLY); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "a/b/c/f", O_RDWR); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "a/b/c/d/f", O_RDWR); }) == 0);
}

TEST_CASE("a non-recursive directory rule covers the directory, not what is below")
{
    TempDir d;
    std::filesystem::create_directories(d / "top/sub");
    write_file(d / "top/f", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, d / "top", R, false);
    Container c("nonrec", b.build());
    CHECK(c.run([&] { return open_errno(d / "top", O_RDONLY | O_DIRECTORY); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "top/f", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(d / "top/sub", O_RDONLY | O_DIRECTORY); }) == EACCES);
}

TEST_CASE("filesystem-type rules apply by superblock magic; a path rule beats them")
{
    TempDir d;
    write_file(d / "f", "x");
    write_file(d / "g", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    b.fstype_rule(0x9fa0, R);     // proc
    b.fstype_rule(0x01021994, R); // tmpfs
    rule(b, d / "g", R | W);
    Container c("fstype", b.build());
    CHECK(c.run([] { return open_errno("/proc/self/status", O_RDONLY); }) == 0);
    CHECK(c.run([] { return open_errno("/proc/sys/kernel/hostname", O_WRONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == 0);
    CHECK(c.run([&] { return open_errno(d / "f", O_WRONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(d / "g", O_WRONLY); }) == 0);
    CHECK(c.run([] { return open_errno("/sys/kernel/uevent_seqnum", O_RDONLY); }) == EACCES);
}

TEST_CASE("default allow and default deny")
{
    TempDir d;
    write_file(d / "f", "x");
    write_file(d / "denied", "x");
    PolicyBuilder allow(CGFENCE_MODE_ENFORCE, RWX);
    rule(allow, d / "denied", 0);
    Container a("default-allow", allow.build());
    CHECK(a.run([&] { return open_errno(d / "f", O_RDWR); }) == 0);
    CHECK(a.run([&] { return open_errno(d / "denied", O_RDONLY); }) == EACCES);
    Container deny("default-deny", PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).build());
    CHECK(deny.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
}

TEST_CASE("processes outside every container are never denied, even under a default-deny policy")
{
    TempDir d;
    write_file(d / "f", "x");
    Container deny("outsider", PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).build());
    TestCgroup sibling("outsider-sibling");
    CHECK(deny.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    CHECK(run_outside([&] { return open_errno(d / "f", O_RDWR); }) == 0);
    CHECK(run_in(sibling, [&] { return open_errno(d / "f", O_RDWR); }) == 0);
    CHECK(open_errno(d / "f", O_RDWR) == 0);
}

TEST_CASE("a process in a child cgroup of a container, at any depth, is confined")
{
    TempDir d;
    write_file(d / "f", "x");
    Container c("parent", PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).build());
    TestCgroup child(c.cgroup(), "child");
    TestCgroup grandchild(child, "grandchild");
    TestCgroup deeper(grandchild, "g3");
    TestCgroup deepest(deeper, "g4");
    CHECK(run_in(child, [&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    CHECK(run_in(deepest, [&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
}

TEST_CASE("a walk deeper than the bound gets deep_access: never more than a rule could give")
{
    TempDir d;
    std::filesystem::path p = d.path();
    std::filesystem::path at60, at70;
    for (int i = 1; i <= 70; i++) {
        p /= "d";
        if (i == 60)
            at60 = p;
        if (i == 70)
            at70 = p;
    }
    std::filesystem::create_directories(p);
    write_file(at60 / "f", "x");
    write_file(at70 / "f", "x");
    write_file(d / "denied", "x");
    // Default deny, the whole tree readable: deeper than 64 falls back to deny.
    PolicyBuilder deny(CGFENCE_MODE_ENFORCE, 0);
    rule(deny, d.path(), R);
    Container c("deep-deny", deny.build());
    CHECK(c.run([&] { return open_errno(at60 / "f", O_RDONLY); }) == 0);
    CHECK(c.run([&] { return open_errno(at70 / "f", O_RDONLY); }) == EACCES);
    // Default allow with a deny rule somewhere: too deep is not an allow either.
    PolicyBuilder allow(CGFENCE_MODE_ENFORCE, RWX);
    rule(allow, d / "denied", 0);
    Container a("deep-allow", allow.build());
    CHECK(a.run([&] { return open_errno(at60 / "f", O_RDONLY); }) == 0);
    CHECK(a.run([&] { return open_errno(at70 / "f", O_RDONLY); }) == EACCES);
}

TEST_CASE("mmap and mprotect with PROT_EXEC need x")
{
    TempDir d;
    std::filesystem::create_directories(d / "rx");
    std::filesystem::create_directories(d / "r");
    write_file(d / "rx/lib", std::string(8192, 'x'));
    write_file(d / "r/lib", std::string(8192, 'x'));
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
    rule(b, d / "rx", R | X);
    rule(b, d / "r", R);
    Container c("mmap", b.build());
    auto map_exec = [](const std::string &path) {
        int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0)
            return 100 + errno;
        void *p = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        return p == MAP_FAILED ? errno : 0;
    };
    auto protect_exec = [](const std::string &path) {
        int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0)
            return 100 + errno;
        void *p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            return 200;
        return ::mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : errno;
    };
    CHECK(c.run([&] { return map_exec(d / "rx/lib"); }) == 0);
    CHECK(c.run([&] { return map_exec(d / "r/lib"); }) == EACCES);
    CHECK(c.run([&] { return protect_exec(d / "rx/lib"); }) == 0);
    CHECK(c.run([&] { return protect_exec(d / "r/lib"); }) == EACCES);
}
