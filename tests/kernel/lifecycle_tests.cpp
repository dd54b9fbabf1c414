// The loader's promises, observed from a confined process: enforcement
// outlives the loader, a second load is a no-op, an upgrade keeps every policy
// and never lets a denied open through, unload ends it; audit mode, records,
// rate limits and counters; another LSM program's denial stands.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deny_other.skel.h"
#include "fixture.hpp"
#include "loader.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;

namespace {

const std::string next_ctl = built_program("cgfencectl-next");

ContainerPolicy deny_file(const fs::path &file)
{
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, RWX);
    rule(b, file, 0);
    return b.build();
}

// A private cgfence under its own pin dir, unloaded at the end.
struct PrivateLoad {
    std::string pin_dir;
    explicit PrivateLoad(const std::string &name, const std::vector<std::string> &load = {"load"})
        : pin_dir("/sys/fs/bpf/cgfence-" + name)
    {
        REQUIRE(cgfencectl(pin_dir, load) == 0);
    }
    ~PrivateLoad() { cgfencectl(pin_dir, {"unload", "--force"}); }
    PinnedMaps maps() const
    {
        auto m = PinnedMaps::open(PinLayout{pin_dir});
        REQUIRE(m.ok());
        return std::move(*m);
    }
};

} // namespace

TEST_CASE("enforcement outlives the loader process, and status says it is live")
{
    TempDir d;
    write_file(d / "f", "x");
    Container c("outlives", deny_file(d / "f")); // loaded by a cgfencectl that has exited
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    auto status = read_status(PinLayout{suite_pin_dir()});
    REQUIRE(status.ok());
    CHECK(status->live);
    CHECK(status->programs.size() >= 15);
}

TEST_CASE("a second load of the same build changes nothing")
{
    suite_maps();
    auto before = read_status(PinLayout{suite_pin_dir()});
    REQUIRE(before.ok());
    CHECK(cgfencectl(suite_pin_dir(), {"load"}) == 0);
    auto after = read_status(PinLayout{suite_pin_dir()});
    REQUIRE(after.ok());
    REQUIRE(after->programs.size() == before->programs.size());
    for (size_t i = 0; i < before->programs.size(); i++)
        CHECK(after->programs[i].link_id == before->programs[i].link_id);
    CHECK(after->loaded_at_ns == before->loaded_at_ns);
}

TEST_CASE("unload refuses while containers are registered and --force ends enforcement")
{
    TempDir d;
    write_file(d / "f", "x");
    PrivateLoad load("unload-test");
    PinnedMaps maps = load.maps();
    Container c("unload", deny_file(d / "f"), maps);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    CHECK(cgfencectl(load.pin_dir, {"unload"}) == 4);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    CHECK(cgfencectl(load.pin_dir, {"unload", "--force"}) == 0);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == 0);
    CHECK_FALSE(fs::exists(load.pin_dir));
}

TEST_CASE("an upgrade load keeps policies; a process opening a denied file never once succeeds")
{
    TempDir d;
    write_file(d / "f", "x");
    PrivateLoad load("upgrade-test");
    PinnedMaps maps = load.maps();
    Container c("upgrade", deny_file(d / "f"), maps);
    const uint64_t first_build = read_status(PinLayout{load.pin_dir})->build_id;

    int stop[2], result[2];
    REQUIRE(::pipe(stop) == 0);
    REQUIRE(::pipe(result) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        const std::string cgroup_procs = c.cgroup().path() + "/cgroup.procs";
        int fd = ::open(cgroup_procs.c_str(), O_WRONLY);
        if (fd < 0 || ::write(fd, "0", 1) != 1)
            ::_exit(1);
        ::close(fd);
        exec_arming_file();
        ::close(stop[1]);
        uint64_t counts[2] = {0, 0}; // attempts, successes
        pollfd p{stop[0], POLLIN, 0};
        while (::poll(&p, 1, 0) == 0) {
            counts[0]++;
            if (open_errno(d / "f", O_RDONLY) != EACCES)
                counts[1]++;
        }
        ::_exit(::write(result[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
    }
    ::close(stop[0]);
    ::close(result[1]);
    ::usleep(200000);
    CHECK(cgfencectl(load.pin_dir, {"load"}, next_ctl) == 0);
    const uint64_t second_build = read_status(PinLayout{load.pin_dir})->build_id;
    CHECK(cgfencectl(load.pin_dir, {"load"}) == 0); // and back again
    ::usleep(200000);
    ::close(stop[1]);
    uint64_t counts[2] = {0, 0};
    CHECK(::read(result[0], counts, sizeof(counts)) == sizeof(counts));
    ::close(result[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);

    CHECK(second_build != first_build);
    CHECK(read_status(PinLayout{load.pin_dir})->build_id == first_build);
    MESSAGE("denied opens during two upgrades: " << counts[0]);
    CHECK(counts[0] > 100);
    CHECK(counts[1] == 0);
    CHECK(read_policy(maps, c.id()).ok());
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EACCES);
    auto status_after = read_status(PinLayout{load.pin_dir});
    CHECK(status_after->containers == 1);
}

TEST_CASE("load marks the running tasks of containers registered before its programs were attached")
{
    TempDir d;
    write_file(d / "f", "x");
    PrivateLoad load("late-attach", {"load", "--maps-only"});
    PinnedMaps maps = load.maps();
    Container c("late-attach", deny_file(d / "f"), maps);
    // It exec'd in the container while nothing marked it; it waits.
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::fflush(nullptr);
    const pid_t task = ::fork();
    if (task == 0) {
        ::close(go[1]);
        const std::string procs = c.cgroup().path() + "/cgroup.procs";
        const int fd = ::open(procs.c_str(), O_WRONLY);
        if (fd < 0 || ::write(fd, "0", 1) != 1)
            ::_exit(250);
        exec_arming_file();
        char byte = 0;
        (void)!::read(go[0], &byte, 1);
        ::_exit(open_errno(d / "f", O_RDONLY));
    }
    ::close(go[0]);
    CHECK(cgfencectl(load.pin_dir, {"load"}) == 0); // the programs, now
    REQUIRE(::write(go[1], "g", 1) == 1);
    int status = 0;
    ::waitpid(task, &status, 0);
    CHECK(WEXITSTATUS(status) == EACCES);
    ::close(go[1]);
}

TEST_CASE("audit mode allows, and reports each would-be denial up to the rate limit")
{
    TempDir d;
    write_file(d / "f", "x");
    take_events(0); // drain
    PolicyBuilder b(CGFENCE_MODE_AUDIT, 0);
    b.event_rate(0, 5); // five records, no refill
    Container c("audit", b.build());
    CHECK(c.run([&] {
        int failures = 0;
        for (int i = 0; i < 20; i++)
            failures += open_errno(d / "f", O_RDONLY) != 0;
        return failures;
    }) == 0);
    auto events = take_events(c.id());
    CHECK(events.size() == 5);
    for (const auto &e : events) {
        CHECK(e.verdict == CGFENCE_VERDICT_AUDITED);
        CHECK(e.wanted == R);
        CHECK(e.hook == CGFENCE_HOOK_FILE_OPEN);
        CHECK(std::string(e.name) == "f");
        CHECK(e.cgroup == c.id());
    }
    auto counters = read_counters(suite_maps(), c.id());
    REQUIRE(counters.ok());
    CHECK(counters->audited == 20);
    CHECK(counters->denied == 0);
    CHECK(counters->events_sent == 5);
    CHECK(counters->events_dropped == 15);
}

TEST_CASE("counters count decisions and denials; enforce-mode denials are recorded")
{
    TempDir d;
    write_file(d / "ok", "x");
    write_file(d / "no", "x");
    PolicyBuilder b(CGFENCE_MODE_ENFORCE, RWX);
    rule(b, d / "no", 0);
    Container c("counters", b.build());
    take_events(0);
    CHECK(c.run([&] {
        int denied = 0;
        for (int i = 0; i < 3; i++)
            denied += open_errno(d / "no", O_RDONLY) == EACCES;
        for (int i = 0; i < 2; i++)
            denied += open_errno(d / "ok", O_RDONLY) == EACCES;
        return denied;
    }) == 3);
    auto counters = read_counters(suite_maps(), c.id());
    REQUIRE(counters.ok());
    CHECK(counters->decisions >= 5);
    CHECK(counters->denied == 3);
    CHECK(counters->audited == 0);
    auto events = take_events(c.id());
    REQUIRE(events.size() == 3);
    CHECK(events[0].verdict == CGFENCE_VERDICT_DENIED);
    CHECK(std::string(events[0].name) == "no");
    CHECK(events[0].dev == key_of(d / "no").dev);
    CHECK(events[0].ino == key_of(d / "no").ino);
}

TEST_CASE("a denial by another BPF LSM program on the same hook stands")
{
    TempDir d;
    write_file(d / "f", "x");
    Container c("other-lsm", PolicyBuilder(CGFENCE_MODE_ENFORCE, RWX).build());
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == 0);
    deny_other *other = deny_other__open();
    REQUIRE(other);
    other->rodata->target_ino = key_of(d / "f").ino;
    REQUIRE(deny_other__load(other) == 0);
    REQUIRE(deny_other__attach(other) == 0);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == EPERM);
    CHECK(run_outside([&] { return open_errno(d / "f", O_RDONLY); }) == EPERM);
    deny_other__destroy(other);
    CHECK(c.run([&] { return open_errno(d / "f", O_RDONLY); }) == 0);
}
