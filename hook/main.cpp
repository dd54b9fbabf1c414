// cgfence-hook: the OCI runtime hook. Runtimes run it at prestart (or
// createRuntime) and poststop with the container's state on stdin.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "hook_config.hpp"
#include "hook_stages.hpp"
#include "log.hpp"
#include "state.hpp"
#include "syslog_sink.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1; // the container must not start (at setup)
constexpr int kExitUsage = 2;
constexpr auto kStdinTimeout = std::chrono::seconds(10);

struct Options {
    std::optional<std::string> stage;
    std::string config_path = cgfence::kDefaultConfigPath;
    std::string pin_dir;
    std::vector<std::string> profile_dirs;
    bool debug = false;
};

int run(const Options &options)
{
    using namespace cgfence;
    auto config = load_hook_config(options.config_path);
    log::configure(options.debug ? log::Level::debug
                                 : (config ? config->log_level : log::Level::info),
                   hook_log_sink(options.debug));
    if (!config) {
        log::error(config.error().message());
        return kExitFailed;
    }
    if (!options.pin_dir.empty())
        config->pin_dir = options.pin_dir;
    if (!options.profile_dirs.empty())
        config->profile_dirs = options.profile_dirs;

    auto input = oci::read_all(STDIN_FILENO, kStdinTimeout, oci::kMaxStateBytes);
    if (!input) {
        log::error(input.error().message());
        return kExitFailed;
    }
    auto state = oci::parse_state(*input, "stdin");
    if (!state) {
        log::error(state.error().message());
        return kExitFailed;
    }
    auto stage = stage_of(options.stage, *state);
    if (!stage) {
        log::error(stage.error().message());
        return kExitUsage;
    }
    Status done;
    switch (*stage) {
    case Stage::setup:
        done = setup_container(*state, *config);
        break;
    case Stage::teardown:
        done = teardown_container(*state, *config);
        break;
    case Stage::none:
        log::debug("container " + state->id + ": status " + state->status + ", nothing to do");
        break;
    }
    if (!done) {
        log::error("container " + state->id + ": " + done.error().message());
        return kExitFailed;
    }
    return kExitOk;
}

} // namespace

namespace {

int parse_and_run(int argc, char **argv)
{
    CLI::App app{"cgfence-hook: give each container its cgfence policy (OCI runtime hook).\n"
                 "Reads the OCI state on stdin; the stage comes from its status unless given."};
    app.footer("Examples (config.json hooks):\n"
               "  \"prestart\": [{\"path\": \"/usr/libexec/oci/hooks.d/cgfence-hook\"}]\n"
               "  \"poststop\": [{\"path\": \"/usr/libexec/oci/hooks.d/cgfence-hook\", "
               "\"args\": [\"cgfence-hook\", \"poststop\"]}]\n"
               "Exit codes: 0 done or nothing to do, 1 failed (the container must not start), "
               "2 usage.\nSee cgfence-hook(8).");
    Options options;
    app.add_option("stage", options.stage, "prestart, createRuntime or poststop")
        ->check(CLI::IsMember({"prestart", "createRuntime", "poststop"}));
    app.add_option("--config", options.config_path, "configuration file")->capture_default_str();
    app.add_option("--pin-dir", options.pin_dir,
                   "bpffs directory of cgfence's pins (overrides the config)");
    app.add_option("--profile-dir", options.profile_dirs,
                   "where profiles are looked up, in order (overrides the config; repeatable)");
    app.add_flag("--debug", options.debug, "log details, and everything to stderr too");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        // One line, like every other error: runtimes show the hook's stderr.
        std::fprintf(stderr, "cgfence-hook: error: %s (see cgfence-hook --help)\n", e.what());
        return kExitUsage;
    }
    return run(options);
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return parse_and_run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "cgfence-hook: error: %s\n", e.what());
        return kExitFailed;
    }
}
