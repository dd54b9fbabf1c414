// Learn mode in the kernel: everything is allowed; each distinct access that
// a default-deny reading of the policy would deny is remembered once (object,
// rights), with what `profile learn` needs to name it later; the memory is
// bounded per container and the rest is counted; withdrawing the container
// forgets it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

#include "fixture.hpp"
#include "learned.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

// "name rights [dir]" per remembered access, sorted.
std::string learned_text(uint64_t cgroup)
{
    auto accesses = learned_accesses(suite_maps(), cgroup);
    REQUIRE(accesses.ok());
    std::vector<std::string> lines;
    for (const LearnedAccess &a : *accesses) {
        std::string line = std::string(a.detail.name) + " " + std::to_string(a.wanted);
        if (a.detail.is_dir)
            line += " dir";
        lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const std::string &line : lines)
        text += line + "\n";
    return text;
}

} // namespace

TEST_CASE("learn mode allows, and remembers each distinct access a default-deny reading denies")
{
    TempDir d;
    write_file(d / "granted", "x");
    write_file(d / "other", "x");
    take_events(0);
    // Default allow: learn judges as if it were deny. The rule grants r on "granted".
    PolicyBuilder b(CGFENCE_MODE_LEARN, RWX);
    rule(b, d / "granted", R);
    Container c("learn", b.build());
    CHECK(c.run([&] {
        int failures = 0;
        for (int i = 0; i < 3; i++) {
            failures += open_errno(d / "granted", O_RDONLY) != 0; // the rule grants it
            failures += open_errno(d / "granted", O_RDWR) != 0;   // w beyond the rule
            failures += open_errno(d / "other", O_RDONLY) != 0;   // only the default
        }
        failures += open_errno(d / "new", O_WRONLY | O_CREAT) != 0; // w on the directory
        return failures;
    }) == 0);
    CHECK(learned_text(c.id()) ==
          d.path().filename().string() + " 2 dir\ngranted 3\nnew 2\nother 1\n");
    auto accesses = learned_accesses(suite_maps(), c.id());
    REQUIRE(accesses.ok());
    for (const LearnedAccess &a : *accesses) {
        const std::string name = a.detail.name;
        const fs::path path = name == d.path().filename().string() ? d.path() : d / name;
        CHECK_MESSAGE(a.dev == key_of(path).dev, name);
        CHECK_MESSAGE(a.ino == key_of(path).ino, name);
        CHECK_MESSAGE(a.detail.parent_ino == key_of(path.parent_path()).ino, name);
        CHECK_MESSAGE(a.detail.fs_magic != 0, name);
    }
    auto counters = read_counters(suite_maps(), c.id());
    REQUIRE(counters.ok());
    CHECK(counters->denied == 0);
    CHECK(counters->audited == 3 + 3 + 1 + 1); // new: its create, then its open
    CHECK(counters->learn_dropped == 0);
    // Reported once per distinct access, not per access.
    const auto events = take_events(c.id());
    CHECK(events.size() == 4);
    for (const cgfence_event &e : events)
        CHECK(e.verdict == CGFENCE_VERDICT_AUDITED);
}

TEST_CASE("learn mode's memory is bounded per container; the rest is counted, and forgotten at "
          "withdrawal")
{
    TempDir d;
    constexpr int kOver = 10;
    constexpr int kFiles = CGFENCE_MAX_LEARNED_PER_CONTAINER + kOver;
    for (int i = 0; i < kFiles; i++)
        write_file(d / std::to_string(i), "");
    uint64_t id = 0;
    {
        PolicyBuilder b(CGFENCE_MODE_LEARN, RWX);
        b.event_rate(0, 0);
        Container c("learn-bound", b.build());
        id = c.id();
        CHECK(c.run([&] {
            int failures = 0;
            for (int i = 0; i < kFiles; i++)
                failures += open_errno(d / std::to_string(i), O_RDONLY) != 0;
            return failures;
        }) == 0);
        auto accesses = learned_accesses(suite_maps(), id);
        REQUIRE(accesses.ok());
        CHECK(accesses->size() == CGFENCE_MAX_LEARNED_PER_CONTAINER);
        auto counters = read_counters(suite_maps(), id);
        REQUIRE(counters.ok());
        CHECK(counters->learn_dropped == kOver);
        CHECK(counters->audited == kFiles);
    }
    auto left = learned_accesses(suite_maps(), id);
    REQUIRE(left.ok());
    CHECK(left->empty());
}

TEST_CASE("a learning container's policy replaced by an enforcing one holds at once")
{
    TempDir d;
    write_file(d / "f", "x");
    PolicyBuilder learn(CGFENCE_MODE_LEARN, RWX);
    Container c("learn-then-enforce", learn.build());
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == 0);
    PolicyBuilder enforce(CGFENCE_MODE_ENFORCE, RWX);
    rule(enforce, d / "f", 0);
    c.replace(enforce.build());
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    CHECK(learned_text(c.id()) == "f 1\n");
}
