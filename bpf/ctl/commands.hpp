// The cgfencectl subcommands: each registers itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace cgfence::ctl {

// Flags every subcommand shares.
struct GlobalOptions {
    std::string pin_dir;
    bool json = false;
    bool debug = false;
};

// Runs after parsing; returns the process exit code.
using Action = std::function<int()>;

void add_load_commands(CLI::App &app, const GlobalOptions &global, Action &action);
void add_profile_commands(CLI::App &app, const GlobalOptions &global, Action &action);
void add_events_command(CLI::App &app, const GlobalOptions &global, Action &action);
void add_container_commands(CLI::App &app, const GlobalOptions &global, Action &action);
// `profile learn`, under the `profile` command.
void add_learn_command(CLI::App &profile, const GlobalOptions &global, Action &action);
void add_apply_command(CLI::App &app, const GlobalOptions &global, Action &action);

} // namespace cgfence::ctl
