#include "hook_runner.hpp"
#include "built.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace cgfence::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double timed_run(const std::vector<std::string> &argv, const std::string &input)
{
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    std::vector<char *> args;
    args.reserve(argv.size() + 1);
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(in[0]);
    const bool written =
        input.empty() || ::write(in[1], input.data(), input.size()) == ssize_t(input.size());
    ::close(in[1]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (!written || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(argv[0] + " failed (status " + std::to_string(status) + ")");
    return us;
}

Spread spread(std::vector<double> samples)
{
    std::sort(samples.begin(), samples.end());
    const auto at = [&](double q) {
        return samples[static_cast<size_t>(q * static_cast<double>(samples.size() - 1))];
    };
    return {at(0.5), at(0.1), at(0.9)};
}

std::string show_ms(const Spread &s)
{
    char text[64];
    std::snprintf(text, sizeof(text), "%.2f [%.2f, %.2f]", s.median / 1000, s.p10 / 1000,
                  s.p90 / 1000);
    return text;
}

HookFixture::HookFixture(size_t rules)
{
    const fs::path files = dir_ / "bundle/rootfs/files";
    fs::create_directories(files);
    fs::create_directories(profile_dir());
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < rules; i++) {
        const std::string name = "f" + std::to_string(i);
        test::write_file(files / name, "x");
        list.push_back({{"path", "/files/" + name}, {"access", i % 2 ? "r" : "rw"}});
    }
    test::write_file(profile_dir() + "/bench.json",
                     nlohmann::json{{"default", "deny"}, {"rules", list}}.dump());
    test::write_file(bundle() + "/config.json",
                     nlohmann::json{{"ociVersion", "1.0.2"},
                                    {"root", {{"path", "rootfs"}}},
                                    {"annotations", {{"io.cgfence.profile", "bench"}}}}
                         .dump());
}

Hook::Hook(std::string pin_dir, const HookFixture &fixture) : bundle_(fixture.bundle())
{
    const std::string config = (config_dir_ / "config.json").string();
    test::write_file(config, R"({"on_unavailable": "allow", "log_level": "error"})");
    argv_ = {test::hook_path(), "--config",           config, "--pin-dir", std::move(pin_dir),
             "--profile-dir",   fixture.profile_dir()};
}

std::string Hook::creating(const std::string &id, pid_t pid) const
{
    return nlohmann::json{{"ociVersion", "1.0.2"},
                          {"id", id},
                          {"status", "creating"},
                          {"pid", pid},
                          {"bundle", bundle_}}
        .dump();
}

std::string Hook::stopped(const std::string &id) const
{
    return nlohmann::json{
        {"ociVersion", "1.0.2"}, {"id", id}, {"status", "stopped"}, {"bundle", bundle_}}
        .dump();
}

double Hook::run(const std::string &state) const
{
    return timed_run(argv_, state);
}

} // namespace cgfence::bench
