#include "hook_bed.hpp"

#include <algorithm>
#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cgfence::test {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string quote(const std::string &text)
{
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_text(const fs::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

std::string capture(const std::string &command)
{
    std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0;)
        out.append(buffer, n);
    return out;
}

HookBed::HookBed()
{
    fs::create_directories(dir / "bpf");
    REQUIRE(::mount("bpf", (dir / "bpf").c_str(), "bpf", 0, nullptr) == 0);
    REQUIRE(run_program({cgfencectl_path(), "--pin-dir", pins, "load", "--maps-only"}, true) == 0);
    fs::create_directories(dir / "profiles");
    fs::create_directories(dir / "bundle/rootfs/etc");
    write_file(dir / "profiles/p.json",
               R"({"default": "deny", "rules": [{"path": "/etc", "access": "r"}]})");
    write_file(dir / "bundle/config.json", R"({"root": {"path": "rootfs"}})");
    write_file(config, R"({"on_unavailable": "allow", "log_level": "error", "profile_dirs": [")" +
                           (dir / "profiles").string() + "\"]}");
}

HookBed::~HookBed()
{
    ::umount2((dir / "bpf").c_str(), MNT_DETACH);
}

std::string HookBed::ctl(const std::string &args) const
{
    return capture(cgfencectl_path() + " --pin-dir " + pins + " " + args);
}

int HookBed::hook(const json &state) const
{
    // One file per container and stage: hooks may run concurrently.
    const fs::path input = dir / ("state-" + state["id"].get<std::string>() + "-" +
                                  state["status"].get<std::string>() + ".json");
    write_file(input, state.dump());
    return std::system(
        (hook_path() + " --config " + config + " --pin-dir " + pins + " < " + input.string())
            .c_str());
}

HookRun HookBed::hook_raw(const std::string &input, const std::vector<std::string> &args) const
{
    const fs::path in = dir / "raw-input", err = dir / "raw-stderr";
    write_file(in, input);
    // The bench's config and pins unless the case gives its own.
    auto given = [&](const char *option) {
        return std::find(args.begin(), args.end(), option) != args.end();
    };
    std::string command = hook_path();
    if (!given("--config"))
        command += " --config " + config;
    if (!given("--pin-dir"))
        command += " --pin-dir " + pins;
    for (const auto &arg : args)
        command += " " + quote(arg);
    command += " < " + in.string() + " 2> " + err.string();
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), read_text(err)};
}

json HookBed::state(const std::string &id, const std::string &status, pid_t pid) const
{
    json s = {{"ociVersion", "1.0.2"},
              {"id", id},
              {"status", status},
              {"bundle", bundle},
              {"annotations", {{"io.cgfence.profile", "p"}}}};
    if (pid > 0)
        s["pid"] = pid;
    return s;
}

std::string HookBed::snapshot() const
{
    std::string out = ctl("--json stats");
    for (const auto &c : json::parse(ctl("--json ps")))
        if (!c["id"].is_null()) // the rules of every recorded container
            out += ctl("--json show " + std::to_string(c["cgroup"].get<uint64_t>()));
    return out;
}

FakeContainer::FakeContainer(const std::string &name)
    : cgroup(std::make_unique<TestCgroup>(name)), process(std::make_unique<ParkedProcess>(*cgroup)),
      pid(process->pid())
{
}

void FakeContainer::kill_without_poststop()
{
    process.reset();
    pid = -1;
    cgroup.reset(); // removes the cgroup: what a runtime does when the container dies
}

Scene::Scene()
{
    REQUIRE(bed.hook(bed.state("resident", "creating", resident.pid)) == 0);
    before = bed.snapshot();
}

Scene::~Scene()
{
    (void)bed.hook(bed.state("resident", "stopped", 0));
}

json Scene::valid() const
{
    return bed.state("target", "creating", target.pid);
}

std::string Scene::bundle_with(const std::string &name, const std::string &config) const
{
    const fs::path dir = bed.dir / name;
    fs::create_directories(dir / "rootfs/etc");
    write_file(dir / "config.json", config);
    return dir.string();
}

void Scene::expect(const std::string &input, int status, const std::string &says,
                   const std::vector<std::string> &args) const
{
    const HookRun run = bed.hook_raw(input, args);
    CAPTURE(run.err);
    CHECK(run.status == status);
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK(run.err.find("error") != std::string::npos);
    CHECK(run.err.find(says) != std::string::npos);
    CHECK(bed.snapshot() == before);
}

void Scene::expect(const json &state, int status, const std::string &says,
                   const std::vector<std::string> &args) const
{
    expect(state.dump(), status, says, args);
}

} // namespace cgfence::test
