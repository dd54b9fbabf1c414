#include <doctest/doctest.h>

#include "mountinfo.hpp"

using namespace cgfence;

TEST_CASE("mountinfo lines parse, escapes and optional fields included")
{
    const std::string text =
        "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 - ext4 /dev/root rw,errors=continue\n"
        "40 36 0:52 / /merged rw shared:5 master:2 - overlay overlay "
        "rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n";
    auto mounts = parse_mountinfo(text);
    REQUIRE(mounts.ok());
    REQUIRE(mounts->size() == 2);
    const MountEntry &first = (*mounts)[0];
    CHECK(first.mount_id == 36);
    CHECK(first.parent_id == 35);
    CHECK(first.major_number == 98);
    CHECK(first.minor_number == 0);
    CHECK(first.root == "/mnt1");
    CHECK(first.mount_point == "/mnt two");
    CHECK(first.fstype == "ext4");
    const MountEntry &overlay = (*mounts)[1];
    CHECK(overlay.fstype == "overlay");
    CHECK(mount_option(overlay.super_options, "lowerdir") == "/l1:/l2");
    CHECK(mount_option(overlay.super_options, "upperdir") == "/u");
    CHECK(mount_option(overlay.super_options, "workdir") == "/w");
    CHECK(mount_option(overlay.super_options, "xino").empty());
}

TEST_CASE("a malformed mountinfo line is an error naming the line")
{
    auto mounts = parse_mountinfo("36 35 98:0 / / rw - ext4 /dev/root rw\n1 2 bad / / rw\n");
    REQUIRE_FALSE(mounts.ok());
    CHECK(mounts.error().object == "2");
}

TEST_CASE("this process's own mountinfo parses")
{
    auto mounts = read_mountinfo();
    REQUIRE(mounts.ok());
    CHECK_FALSE(mounts->empty());
}
