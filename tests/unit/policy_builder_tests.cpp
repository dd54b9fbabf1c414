#include <doctest/doctest.h>

#include "policy.hpp"

using namespace cgfence;

namespace {
constexpr uint8_t R = CGFENCE_ACCESS_READ, W = CGFENCE_ACCESS_WRITE, X = CGFENCE_ACCESS_EXEC;
PolicyKey inode(uint32_t dev, uint64_t ino)
{
    return PolicyKey{CGFENCE_KEY_INODE, dev, ino};
}
} // namespace

TEST_CASE("two rules on one object merge into the stricter")
{
    auto policy = PolicyBuilder(CGFENCE_MODE_ENFORCE, 0)
                      .inode_rule(1, 10, R | X, true)
                      .inode_rule(1, 10, R | W, false)
                      .build();
    REQUIRE(policy.rules.size() == 1);
    CHECK(policy.rules.at(inode(1, 10)).access == R);
    CHECK(policy.rules.at(inode(1, 10)).flags == 0); // recursive if either is
}

TEST_CASE("deep_access never exceeds the default or any rule")
{
    auto allow_all = PolicyBuilder(CGFENCE_MODE_ENFORCE, R | W | X).build();
    CHECK(allow_all.settings.deep_access == (R | W | X));
    auto with_rules = PolicyBuilder(CGFENCE_MODE_ENFORCE, R | W | X)
                          .inode_rule(1, 2, R | X)
                          .inode_rule(1, 3, R | W)
                          .overlay_layer(1, 4, 9) // markers do not narrow it
                          .build();
    CHECK(with_rules.settings.deep_access == R);
    auto deny = PolicyBuilder(CGFENCE_MODE_ENFORCE, 0).inode_rule(1, 2, R | W | X).build();
    CHECK(deny.settings.deep_access == 0);
}

TEST_CASE("mount roots carry the enclosing rule or mark a boundary; a path rule wins")
{
    PolicyRule enclosing{R | W, 0};
    auto policy = PolicyBuilder(CGFENCE_MODE_ENFORCE, 0)
                      .mount_root(5, 1, &enclosing)
                      .mount_root(6, 1, nullptr)
                      .inode_rule(7, 1, R)
                      .mount_root(7, 1, &enclosing)
                      .build();
    CHECK(policy.rules.at(inode(5, 1)).access == (R | W));
    CHECK(policy.rules.at(inode(6, 1)).flags == CGFENCE_RULE_MOUNT_BOUNDARY);
    CHECK(policy.rules.at(inode(7, 1)).access == R);
}

TEST_CASE("filesystem-type rules set the settings flag; event rates are bounded")
{
    auto policy = PolicyBuilder(CGFENCE_MODE_AUDIT, 0)
                      .fstype_rule(0x9fa0, R)
                      .event_rate(1U << 30, 10)
                      .build();
    CHECK(policy.settings.mode == CGFENCE_MODE_AUDIT);
    CHECK((policy.settings.flags & CGFENCE_SETTINGS_HAS_FSTYPE_RULES) != 0);
    CHECK(policy.settings.events_per_sec == kMaxEventsPerSecond);
    CHECK(policy.rules.at(PolicyKey{CGFENCE_KEY_FSTYPE, 0, 0x9fa0}).access == R);
}
