// Overlayfs, the rootfs of nearly every container, under a default-deny
// profile: rules resolved through the merged path apply; overlayfs's own work
// on its layers (backing opens, copy-up, whiteouts) is neither denied nor a
// way around a rule. Layers on one filesystem and on two.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "fixture.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

struct Overlay {
    TempDir d;
    fs::path lower, upper, work, merged;
    std::vector<fs::path> mounts;

    explicit Overlay(bool lower_on_ext4)
    {
        lower = d / "lower";
        upper = d / "upper";
        work = d / "work";
        merged = d / "merged";
        for (const auto &p : {lower, upper, work, merged})
            fs::create_directories(p);
        if (lower_on_ext4) {
            const fs::path image = d / "lower.img";
            REQUIRE(run_program({"truncate", "-s", "32M", image.string()}) == 0);
            REQUIRE(run_program({"mkfs.ext4", "-q", "-F", image.string()}, true) == 0);
            run_program({"modprobe", "-q", "loop"}, true);
            REQUIRE(run_program({"mount", "-o", "loop", image.string(), lower.string()}) == 0);
            mounts.push_back(lower);
        }
        fs::create_directories(lower / "bin");
        fs::create_directories(lower / "dir");
        write_file(lower / "ro.txt", "read only\n");
        write_file(lower / "rw.txt", "before\n");
        write_file(lower / "deny.txt", "denied\n");
        write_file(lower / "dir/old", "x\n");
        fs::copy_file("/bin/busybox", lower / "bin/busybox");
        ::chmod((lower / "bin/busybox").c_str(), 0755);
        run_program({"modprobe", "-q", "overlay"}, true);
        const std::string options = "lowerdir=" + lower.string() + ",upperdir=" + upper.string() +
                                    ",workdir=" + work.string();
        REQUIRE(::mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) == 0);
        mounts.push_back(merged);
    }
    ~Overlay()
    {
        for (; !mounts.empty(); mounts.pop_back()) // the overlay first, then its lower layer
            ::umount2(mounts.back().c_str(), MNT_DETACH);
    }

    // `also_rw`: more directories the policy lets be read and written.
    ContainerPolicy policy(const std::vector<fs::path> &also_rw = {}) const
    {
        PolicyBuilder b(CGFENCE_MODE_ENFORCE, 0);
        for (const fs::path &dir : also_rw)
            rule(b, dir, R | W);
        rule(b, merged, R, false);
        rule(b, merged / "ro.txt", R);
        rule(b, merged / "rw.txt", R | W);
        rule(b, merged / "bin", R | X);
        rule(b, merged / "dir", R | W);
        for (const auto &layer : {lower, upper, work}) {
            const ObjectKey k = key_of(layer);
            b.overlay_layer(k.dev, k.ino, key_of(merged).dev);
        }
        return b.build();
    }
};

std::string read_all(const fs::path &path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int write_text(const fs::path &path, const std::string &text)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0)
        return errno;
    ssize_t n = ::write(fd, text.data(), text.size());
    ::close(fd);
    return n == static_cast<ssize_t>(text.size()) ? 0 : 200;
}

int map_exec(const fs::path &path, bool via_mprotect)
{
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0)
        return 100 + errno;
    void *p =
        ::mmap(nullptr, 4096, via_mprotect ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return errno;
    if (via_mprotect && ::mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
        return errno;
    return 0;
}

void check_overlay(bool lower_on_ext4)
{
    Overlay o(lower_on_ext4);
    Container c(lower_on_ext4 ? "overlay-2fs" : "overlay-1fs", o.policy());
    const fs::path m = o.merged;

    // Allowed: read, list, write after copy-up, create, unlink, exec, mmap.
    CHECK(c.run([&] { return open_errno(m / "ro.txt", O_RDONLY); }) == 0);
    CHECK(c.run([&] { return open_errno(m, O_RDONLY | O_DIRECTORY); }) == 0);
    CHECK(c.run([&] { return write_text(m / "rw.txt", "after\n"); }) == 0);
    CHECK(read_all(m / "rw.txt") == "after\n");
    CHECK(fs::exists(o.upper / "rw.txt")); // copied up
    CHECK(c.run([&] { return write_text(m / "rw.txt", "again\n"); }) == 0);
    CHECK(c.run([&] { return open_errno(m / "dir/new", O_CREAT | O_WRONLY); }) == 0);
    CHECK(c.run([&] { return errno_of(::unlink((m / "dir/old").c_str())); }) == 0);
    CHECK_FALSE(fs::exists(m / "dir/old"));
    CHECK(c.run([&] {
        return errno_of(::rename((m / "dir/new").c_str(), (m / "dir/n2").c_str()));
    }) == 0);
    CHECK(c.run([&] {
        ::execl((m / "bin/busybox").c_str(), "busybox", "true", nullptr);
        return errno;
    }) == 0);
    CHECK(c.run([&] { return map_exec(m / "bin/busybox", false); }) == 0);
    CHECK(c.run([&] { return map_exec(m / "bin/busybox", true); }) == 0);

    // Denied: what no rule grants, through the merged path or the layers.
    CHECK(c.run([&] { return open_errno(m / "deny.txt", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(m / "ro.txt", O_WRONLY); }) == EACCES);
    CHECK_FALSE(fs::exists(o.upper / "ro.txt")); // no copy-up of a file not writable
    CHECK(c.run([&] { return open_errno(m / "created", O_CREAT | O_WRONLY); }) == EACCES);
    CHECK(c.run([&] { return errno_of(::unlink((m / "ro.txt").c_str())); }) == EACCES);
    CHECK(c.run([&] { return map_exec(m / "ro.txt", false); }) == EACCES);
    CHECK(c.run([&] { return map_exec(m / "ro.txt", true); }) == EACCES);
    CHECK(c.run([&] { return open_errno(o.lower / "deny.txt", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(o.lower / "ro.txt", O_RDONLY); }) == EACCES);
    CHECK(c.run([&] { return open_errno(o.upper / "rw.txt", O_RDONLY); }) == EACCES);
}

} // namespace

TEST_CASE("overlay with its layers on one filesystem: allowed work works, the rest is denied")
{
    check_overlay(false);
}

TEST_CASE("overlay with its layers on two filesystems: allowed work works, the rest is denied")
{
    check_overlay(true);
}

// The layers pass their own overlay's work only. A second overlay on the same
// lower layer, which the policy names (a rule on its root, as for an overlay
// mounted as a volume), copies a lower file up under its own mounter's
// credentials: its open of the lower file is refused. Without cgfence the
// copy-up works. (O_TRUNC copies nothing up, so these opens go without.)
TEST_CASE("overlay layers pass their own overlay's work, not another overlay's the policy names")
{
    Overlay o(false);
    TempDir other;
    const fs::path upper = other / "upper", work = other / "work", merged = other / "merged";
    for (const auto &p : {upper, work, merged})
        fs::create_directories(p);
    write_file(o.lower / "rw2.txt", "before\n");
    const std::string options = "lowerdir=" + o.lower.string() + ",upperdir=" + upper.string() +
                                ",workdir=" + work.string();
    REQUIRE(::mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) == 0);
    CHECK(open_errno(merged / "rw2.txt", O_WRONLY) == 0); // unconfined: copied up
    CHECK(fs::exists(upper / "rw2.txt"));

    Container c("overlay-other", o.policy({other.path(), merged}));
    // An open of each overlay's file shows its mounter's credentials.
    CHECK(c.run([&] { return open_errno(o.merged / "ro.txt", O_RDONLY); }) == 0);
    (void)c.run([&] { return open_errno(merged / "ro.txt", O_RDONLY); });
    CHECK(c.run([&] { return open_errno(merged / "rw.txt", O_WRONLY); }) == EACCES);
    CHECK_FALSE(fs::exists(upper / "rw.txt"));
    CHECK(c.run([&] { return open_errno(o.merged / "rw.txt", O_WRONLY); }) == 0);
    CHECK(fs::exists(o.upper / "rw.txt"));
    ::umount2(merged.c_str(), MNT_DETACH);
}
