// Other names for a denied object: hard links, symlinks, bind mounts,
// /proc/self/fd, the dynamic loader. None of them gets past a rule.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

// data/ rw, data/secret denied by a rule of its own, other/ without rules.
struct Setup {
    TempDir d;
    Setup()
    {
        fs::create_directories(d / "data");
        fs::create_directories(d / "other");
        write_file(d / "data/secret", "secret\n");
        write_file(d / "other/unlisted", "x\n");
    }
    ContainerPolicy policy(uint8_t default_access = 0) const
    {
        PolicyBuilder b(CGFENCE_MODE_ENFORCE, default_access);
        rule(b, d / "data", R | W);
        rule(b, d / "data/secret", 0);
        return b.build();
    }
};

} // namespace

TEST_CASE("a hard link to a denied file is denied; a link that would gain rights is refused")
{
    Setup s;
    Container c("hardlink", s.policy());
    // The link names the same inode, whose rule denies it.
    REQUIRE(::link((s.d / "data/secret").c_str(), (s.d / "data/alias").c_str()) == 0);
    CHECK(c.run([&] { return open_errno(s.d / "data/alias", O_RDONLY); }) == EACCES);
    // Linking a default-denied file into data/ (rw) would grant it rw: refused.
    CHECK(c.run([&] {
        return errno_of(::link((s.d / "other/unlisted").c_str(), (s.d / "data/u").c_str()));
    }) == EACCES);
    CHECK_FALSE(fs::exists(s.d / "data/u"));
}

TEST_CASE("symlinks and symlink chains to a denied file are denied")
{
    Setup s;
    Container c("symlink", s.policy());
    fs::create_symlink(s.d / "data/secret", s.d / "data/l1");
    fs::create_symlink(s.d / "data/l1", s.d / "data/l2");
    CHECK(c.run([&] { return open_errno(s.d / "data/l1", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(s.d / "data/l2", O_RDONLY); }) == EACCES);
}

TEST_CASE("a bind mount of a denied file or of its directory does not unlock it")
{
    Setup s;
    Container c("bind", s.policy());
    write_file(s.d / "data/target", "");
    REQUIRE(::mount((s.d / "data/secret").c_str(), (s.d / "data/target").c_str(), nullptr, MS_BIND,
                    nullptr) == 0);
    fs::create_directories(s.d / "data/dirbind");
    REQUIRE(::mount((s.d / "data").c_str(), (s.d / "data/dirbind").c_str(), nullptr, MS_BIND,
                    nullptr) == 0);
    CHECK(c.run([&] { return open_errno(s.d / "data/target", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(s.d / "data/dirbind/secret", O_RDONLY); }) == EACCES);
    ::umount2((s.d / "data/dirbind").c_str(), MNT_DETACH);
    ::umount2((s.d / "data/target").c_str(), MNT_DETACH);
}

TEST_CASE("reopening a denied file through /proc/self/fd of an O_PATH descriptor is denied")
{
    Setup s;
    Container c("procfd", s.policy(RWX));
    CHECK(c.run([&] {
        int fd = ::open((s.d / "data/secret").c_str(), O_PATH);
        if (fd < 0)
            return 100 + errno; // O_PATH opens no file: not judged
        return open_errno("/proc/self/fd/" + std::to_string(fd), O_RDONLY);
    }) == EACCES);
}

TEST_CASE("running a non-x file through the dynamic loader is denied")
{
    TempDir d;
    fs::create_directories(d / "rx");
    fs::create_directories(d / "r");
    fs::copy_file("/bin/true", d / "rx/true");
    fs::copy_file("/bin/true", d / "r/true");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, RWX);
    rule(b, d / "r", R);
    Container c("ldso", b.build());
    const std::string loader = "/lib64/ld-linux-x86-64.so.2";
    auto via_loader = [&](const fs::path &program) {
        return run_program({loader, program.string()}, true);
    };
    CHECK(c.run([&] { return via_loader(d / "rx/true"); }) == 0);
    CHECK(c.run([&] { return via_loader(d / "r/true"); }) != 0);
    CHECK(c.run([&] {
        ::execl((d / "r/true").c_str(), "true", nullptr);
        return errno;
    }) == EACCES);
}
