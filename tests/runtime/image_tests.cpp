// Real images, run the way people run them: a Debian bookworm root
// (tests/vm/fetch-images.sh, debootstrap --variant=minbase) imported once per
// run with `podman import` into podman's overlay storage, and run with
// podman's defaults (masked and read-only paths, its seccomp profile, its
// default capabilities) under the shipped profiles; and the same root below
// an overlay for runc, as CRI-O gives a container its image. Every workload
// runs on the host too, where the hook writes real maps without enforcement;
// what a profile denies is checked in the VM, where enforcement is real.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "checks.hpp"
#include "placement.hpp"

using namespace cgfence;
using namespace cgfence::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char *kImage = "localhost/cgfence-debian:bookworm";

// The image's tar. The VM cannot make it (the host's root is read-only
// there, and there is no network): tests/vm/run.sh makes it before booting.
fs::path image_tar()
{
    const std::string script = std::string(CGFENCE_SOURCE_DIR) + "/tests/vm/fetch-images.sh";
    const Finished run =
        in_vm() ? run_captured({script, "--path"}) : run_captured({script}, "", 900s);
    fs::path tar = run.out.substr(0, run.out.find('\n'));
    if (run.status != 0 || !fs::is_regular_file(tar))
        throw std::runtime_error("no Debian image (make it on the host with " + script +
                                 "): " + summary(run));
    return tar;
}

// What every test here shares, made on first use, because under TCG an
// import costs tens of seconds: the Debian image in a podman store of the
// overlay driver, and one fence with the shipped profiles. Each test checks
// that its containers leave nothing in the maps, and reads only the events of
// its own containers (see Fence::new_events()).
class Shared {
  public:
    Shared() : fence_("image")
    {
        for (const char *profile : {"minimal", "default", "audit"})
            fence_.write_shipped_profile(profile);
        store_.import(image_tar(), kImage);
        root_ = store_.layer_dir(kImage);
    }

    [[nodiscard]] const Fence &fence() const { return fence_; }
    [[nodiscard]] const PodmanStore &store() const { return store_; }
    // The image's files (its one layer in the store): never written.
    [[nodiscard]] const fs::path &root() const { return root_; }

  private:
    Fence fence_;
    PodmanStore store_{StorageDriver::overlay};
    fs::path root_;
};

const Shared &shared()
{
    static const Shared shared;
    return shared;
}

// One command of a workload, and whether the profile under test denies it.
struct Step {
    const char *command;
    bool denied = false;
};

// A bash script that runs each step and prints one line for it: "ok:
// COMMAND", "denied: COMMAND" (it failed saying "Permission denied"), or
// "failed (STATUS): COMMAND: OUTPUT".
std::string steps_script(const std::vector<Step> &steps)
{
    std::string script = R"(step() {
  local out status=0
  out=$(eval "$1" 2>&1) || status=$?
  if ((status == 0)); then echo "ok: $1"
  elif [[ $out == *"Permission denied"* ]]; then echo "denied: $1"
  else echo "failed ($status): $1: $out"; fi
}
)";
    for (const Step &step : steps) {
        std::string quoted; // in single quotes for bash
        for (const char *c = step.command; *c != '\0'; c++)
            quoted += *c == '\'' ? std::string(R"('\'')") : std::string(1, *c);
        script += "step '" + quoted + "'\n";
    }
    return script;
}

// What steps_script() prints when `enforced` (in the VM) or not (the host, or audit mode).
std::string steps_result(const std::vector<Step> &steps, bool enforced)
{
    std::string result;
    for (const Step &step : steps)
        result += std::string(enforced && step.denied ? "denied: " : "ok: ") + step.command + "\n";
    return result;
}

// What a default-deny profile (minimal, and audit, which reports what
// minimal denies) lets a Debian workload do, and what not.
const std::vector<Step> kDefaultDenySteps = {
    {"ls / /usr/bin > /dev/null"},
    {"cat /etc/os-release /etc/passwd > /dev/null"},
    {"cp /etc/os-release /tmp/os-release && cmp /etc/os-release /tmp/os-release"},
    {"mkdir -p /tmp/a/b && mv /tmp/os-release /tmp/a/b/ && rm -r /tmp/a"},
    {"sha256sum /usr/bin/bash | cut -c1-64 > /dev/null"},
    {R"(python3 -c 'import os, sys; sys.exit(0 if os.path.isdir("/usr/lib") else 1)')"},
    {"ps -e -o comm= | grep -qx ps"},
    {"echo x > /var/tmp/x && rm /var/tmp/x"},
    {"echo x > /run/x && rm /run/x"},
    {"echo x > /etc/cgfence-etc", true},
    {"touch /root/cgfence-root", true},
    {"mkdir /srv/cgfence-srv", true},
    {"cp /etc/os-release /var/lib/cgfence-var", true},
    {"rm /etc/issue.net", true},
};

// What the default profile (default allow, the system read-only, no exec
// from /tmp) lets a Debian workload do, and what not.
const std::vector<Step> kDefaultSteps = {
    {"ls / /usr/bin > /dev/null"},
    {"cat /etc/os-release > /dev/null"},
    {R"(python3 -c 'import os, sys; sys.exit(0 if os.path.isdir("/usr/lib") else 1)')"},
    {"ps -e -o comm= | grep -qx ps"},
    {"echo x > /root/x && mkdir /srv/app && echo x > /srv/app/x"},
    {"cp /usr/bin/ls /tmp/ls"},
    {"/tmp/ls /", true},
    {"echo x > /usr/cgfence-usr", true},
    {"touch /usr/bin/ls", true},
    {"echo x > /etc/cgfence-etc", true},
};

// Runs `script` as the container's process, its output to /tmp/workload.out
// and then its status to /tmp/workload.done, and then keeps the container running.
std::vector<std::string> workload_command(const std::string &script)
{
    return {"bash", "-c",
            "{\n" + script +
                "} > /tmp/workload.out 2>&1\necho $? > /tmp/workload.done\nexec sleep infinity"};
}

// What the workload of a started container printed, once it finished.
// Read through the container's root from here: no exec needed.
std::string workload_output(const RunningContainer &container)
{
    const fs::path tmp = fs::path("/proc") / std::to_string(container.pid()) / "root/tmp";
    REQUIRE(wait_until([&] { return fs::exists(tmp / "workload.done"); }, 120s));
    if (!fs::exists(tmp / "workload.out"))
        return "no /tmp/workload.out; the workload's status: " + read_text(tmp / "workload.done");
    return read_text(tmp / "workload.out");
}

// Starts `container` with `options` running workload_command(`script`), and
// returns what the script printed.
std::string run_workload(PodmanContainer &container, const std::vector<std::string> &options,
                         const std::string &script)
{
    REQUIRE(outcome(container.run_detached(options, workload_command(script))) == "exit 0");
    return workload_output(container);
}

std::vector<std::string> annotations(const std::string &profile, const std::string &mode = "")
{
    std::vector<std::string> options = {"--annotation",
                                        std::string(kProfileAnnotation) + "=" + profile};
    if (!mode.empty())
        options.insert(options.end(), {"--annotation", std::string(kModeAnnotation) + "=" + mode});
    return options;
}

// The container as `cgfencectl show` gives it: record, counters, rules.
json shown(const Fence &fence, const RunningContainer &container)
{
    const Finished show = fence.cgfencectl({"show", container.id()});
    REQUIRE_MESSAGE(show.status == 0, summary(show));
    return json::parse(show.out);
}

// The hook registered the container with `profile` in `mode`, with a policy.
void check_registered(const Fence &fence, const RunningContainer &container,
                      const std::string &profile, const std::string &mode)
{
    const json container_json = shown(fence, container);
    CHECK(container_json["profile"] == profile);
    CHECK(container_json["mode"] == mode);
    CHECK(container_json["policy"] == true);
    CHECK(container_json["cgroup"] == cgroup_id_of(container.pid()));
}

// "VERDICT WANTED NAME" per event, sorted and without repeats.
std::string events_text(const std::vector<json> &events)
{
    std::set<std::string> lines;
    for (const json &event : events)
        lines.insert(event["verdict"].get<std::string>() + " " +
                     event["wanted"].get<std::string>() + " " + event["name"].get<std::string>());
    std::string text;
    for (const std::string &line : lines)
        text += line + "\n";
    return text;
}

// `options` with a healthcheck running `command`, run only when asked (no
// timer: the VM has no systemd).
std::vector<std::string> with_healthcheck(std::vector<std::string> options,
                                          const std::string &command)
{
    options.insert(options.end(), {"--health-cmd", command, "--health-interval", "disable"});
    return options;
}

// `podman healthcheck run`: "healthy" (exit 0) or "unhealthy" (exit 1).
std::string health_of(PodmanContainer &container)
{
    const Finished check = container.healthcheck();
    return check.status == 0                                 ? "healthy"
           : summary(check) == "exit 1, stdout: unhealthy\n" ? "unhealthy"
                                                             : summary(check);
}

void remove_and_check_nothing_left(const Fence &fence, PodmanContainer &container)
{
    const std::string id = container.id();
    CHECK(summary(container.remove()) == "exit 0, stdout: " + id + "\n");
    check_no_entries(fence.maps());
}

} // namespace

TEST_CASE("real image: the Debian root, imported with podman import into podman's overlay storage" *
          CGFENCE_HOST_ONLY)
{
    // Also the run's one import (and `cgfencectl load`), which the time of
    // this test shows.
    const Finished inspect = run_captured(shared().store().podman(
        {"image", "inspect", "--format", "{{.GraphDriver.Name}} {{len .RootFS.Layers}}", kImage}));
    CHECK(summary(inspect) == "exit 0, stdout: overlay 1\n");
    for (const char *file : {"usr/bin/bash", "usr/bin/python3", "usr/bin/ps", "etc/debian_version"})
        CHECK_MESSAGE(fs::exists(shared().root() / file), file);
}

TEST_CASE("real image (podman, overlay storage, podman's defaults) under minimal: bash, "
          "coreutils, python3 and ps run, writes only in /tmp, /var/tmp and /run; podman exec and "
          "podman healthcheck run work, and are confined")
{
    const Fence &fence = shared().fence();
    PodmanContainer container(shared().store(), fence.hooks_dir(), kImage);
    // The check reads one file minimal allows and one it does not.
    CHECK(run_workload(
              container,
              with_healthcheck(annotations("minimal"), "cat /etc/debian_version /root/.profile"),
              steps_script(kDefaultDenySteps)) == steps_result(kDefaultDenySteps, in_vm()));
    check_registered(fence, container, "minimal", "enforce");
    const uint64_t denied_by_workload = shown(fence, container)["denied"];
    (void)fence.new_events(container.id());

    const std::string version = read_text(shared().root() / "etc/debian_version");
    const std::string profile = read_text(shared().root() / "root/.profile");
    const std::string denied = "cat: /root/.profile: Permission denied\n";
    CHECK(summary(container.exec({"bash", "-c", "echo x > /tmp/x && cat /tmp/x"})) ==
          "exit 0, stdout: x\n");
    const Finished exec = container.exec({"cat", "/etc/debian_version", "/root/.profile"});
    const Finished check = container.healthcheck();
    // podman keeps the check's output without its last newline.
    const json health = json::parse(container.inspect("{{json .State.Health}}"));
    REQUIRE(health["Log"].size() == 1);
    const std::string output = health["Log"][0]["Output"].get<std::string>() + "\n";
    if (in_vm()) {
        CHECK(summary(exec) == "exit 1, stdout: " + version + ", stderr: " + denied);
        CHECK(summary(check) == "exit 1, stdout: unhealthy\n");
        CHECK(output == version + denied);
        CHECK(shown(fence, container)["denied"] == denied_by_workload + 2);
        CHECK(events_text(fence.new_events(container.id())) == "denied r .profile\n");
    } else {
        CHECK(summary(exec) == "exit 0, stdout: " + version + profile);
        CHECK(summary(check) == "exit 0");
        CHECK(output == version + profile);
    }
    remove_and_check_nothing_left(fence, container);
}

TEST_CASE("real image (podman, overlay storage, podman's defaults) under default: /usr is not "
          "writable, /tmp cannot exec, the workload otherwise works; so for podman exec and "
          "podman healthcheck run")
{
    const Fence &fence = shared().fence();
    PodmanContainer container(shared().store(), fence.hooks_dir(), kImage);
    CHECK(run_workload(container,
                       with_healthcheck(annotations("default"), "touch /usr/cgfence-health"),
                       steps_script(kDefaultSteps)) == steps_result(kDefaultSteps, in_vm()));
    check_registered(fence, container, "default", "enforce");
    CHECK(summary(container.exec({"bash", "-c", "echo x > /root/y && cat /root/y"})) ==
          "exit 0, stdout: x\n");
    CHECK(summary(container.exec({"touch", "/usr/cgfence-exec"})) ==
          (in_vm() ? "exit 1, stderr: touch: cannot touch '/usr/cgfence-exec': Permission denied\n"
                   : "exit 0"));
    CHECK(health_of(container) == (in_vm() ? "unhealthy" : "healthy"));
    remove_and_check_nothing_left(fence, container);
}

TEST_CASE("real image (podman, overlay storage, podman's defaults) under audit: everything runs, "
          "podman exec and podman healthcheck run included, and the events report what minimal "
          "would deny")
{
    const Fence &fence = shared().fence();
    PodmanContainer container(shared().store(), fence.hooks_dir(), kImage);
    CHECK(run_workload(container, with_healthcheck(annotations("audit"), "cat /root/.bashrc"),
                       steps_script(kDefaultDenySteps)) == steps_result(kDefaultDenySteps, false));
    check_registered(fence, container, "audit", "audit");
    // The names written (made, removed) and the directories they were in.
    CHECK(events_text(fence.new_events(container.id())) ==
          (in_vm() ? "audited w cgfence-etc\naudited w cgfence-root\naudited w cgfence-var\n"
                     "audited w etc\naudited w issue.net\naudited w lib\naudited w root\n"
                     "audited w srv\n"
                   : ""));
    CHECK(shown(fence, container)["denied"] == 0);
    CHECK(summary(container.exec({"cat", "/root/.profile"})) ==
          "exit 0, stdout: " + read_text(shared().root() / "root/.profile"));
    CHECK(health_of(container) == "healthy");
    CHECK(events_text(fence.new_events(container.id())) ==
          (in_vm() ? "audited r .bashrc\naudited r .profile\n" : ""));
    remove_and_check_nothing_left(fence, container);
}

namespace {

// Reads, writes, makes and removes names, runs python3 and ps; prints its
// exit status. /root holds .bashrc and .profile: reading one of two is not
// "most of the directory", so .profile stays outside what is learned.
constexpr const char *kLearnWorkload = R"((
set -e
cat /root/.bashrc > /dev/null
cat /var/lib/dpkg/status > /dev/null
ls /var/lib/dpkg/alternatives > /dev/null
mkdir -p /srv/app
echo state > /srv/app/state
cat /srv/app/state > /dev/null
echo scratch > /srv/app/scratch.$$
rm /srv/app/scratch.$$
python3 -c 'import os; print(sorted(os.listdir("/srv/app")))' > /dev/null
ps -e > /dev/null
)
echo "workload exit $?"
)";

} // namespace

TEST_CASE("real image (podman, overlay storage): a workload learned under minimal runs with no "
          "denial once the learned profile is applied; one new read is the one denial")
{
    // The README's three commands: run in learn mode, profile learn, apply.
    const Fence &fence = shared().fence();
    PodmanContainer container(shared().store(), fence.hooks_dir(), kImage);
    CHECK(run_workload(container, annotations("minimal", "learn"), kLearnWorkload) ==
          "workload exit 0\n");
    check_registered(fence, container, "minimal", "learn");
    CHECK(events_text(fence.new_events(container.id())).find("denied") == std::string::npos);

    const fs::path learned = fs::path(fence.profile_dir()) / "learned.json";
    const Finished learn = fence.cgfencectl({"profile", "learn", container.id(), "--profile-dir",
                                             fence.profile_dir(), "-o", learned.string()});
    REQUIRE_MESSAGE(learn.status == 0, summary(learn));
    MESSAGE("learned profile:\n" << read_text(learned) << learn.err);
    CHECK(fence.cgfencectl({"profile", "check", learned.string()}).status == 0);
    if (in_vm()) {
        CHECK(
            missing_words(read_text(learned), {R"({"path": "/root/.bashrc", "access": "r"})",
                                               R"({"path": "/var/lib/dpkg/status", "access": "r"})",
                                               R"({"path": "/srv", "access": "rw"})"}) == "");
    }
    CHECK(fence
              .cgfencectl({"apply", container.id(), "learned", "--mode", "enforce", "--profile-dir",
                           fence.profile_dir()})
              .status == 0);
    check_registered(fence, container, "learned", "enforce");
    const uint64_t denied_before = shown(fence, container)["denied"];

    CHECK(summary(container.exec({"bash", "-c", kLearnWorkload})) ==
          "exit 0, stdout: workload exit 0\n");
    CHECK(shown(fence, container)["denied"] == denied_before);
    CHECK(events_text(fence.new_events(container.id())) == "");

    const Finished read = container.exec({"cat", "/root/.profile"});
    if (in_vm()) {
        CHECK(summary(read) == "exit 1, stderr: cat: /root/.profile: Permission denied\n");
        CHECK(shown(fence, container)["denied"] == denied_before + 1);
        CHECK(events_text(fence.new_events(container.id())) == "denied r .profile\n");
    } else {
        CHECK(summary(read) == "exit 0, stdout: " + read_text(shared().root() / "root/.profile"));
    }
    remove_and_check_nothing_left(fence, container);
}

TEST_CASE("real image under runc: the Debian root as an overlay's lower layer (the container's "
          "layer beside it, as CRI-O keeps them) under minimal: the workload runs; writes only in "
          "/tmp, /var/tmp and /run")
{
    const Fence &fence = shared().fence();
    Bundle bundle(shared().root());
    bundle.config["process"]["env"] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb"};
    bundle.annotate(kProfileAnnotation, "minimal")
        .hook(fence.hook(), {"prestart", "poststop"})
        .args(workload_command(steps_script(kDefaultDenySteps)));
    bundle.write();
    OciContainer container(Runtime::runc, bundle, "image-runc");
    REQUIRE(summary(container.run_detached()) == "exit 0");
    CHECK(workload_output(container) == steps_result(kDefaultDenySteps, in_vm()));
    check_registered(fence, container, "minimal", "enforce");
    CHECK(summary(container.stop_and_delete()) == "exit 0");
    check_no_entries(fence.maps());
}
