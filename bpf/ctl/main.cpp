// cgfencectl: the admin tool of cgfence.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "libbpf_log.hpp"
#include "log.hpp"
#include "pins.hpp"

namespace {

int run(int argc, char **argv)
{
    using namespace cgfence;
    CLI::App app{"cgfencectl: load cgfence's BPF LSM program and manage container file policies"};
    app.require_subcommand(1);
    // Subcommands inherit this: global flags may also follow the command.
    app.fallthrough();
    app.footer(ctl::help_footer("Examples:\n  cgfencectl status\n  cgfencectl ps\n"
                                "  cgfencectl events --follow\n  cgfencectl show web-1 --json"));
    ctl::GlobalOptions global;
    global.pin_dir = kDefaultPinDir;
    app.add_option("--pin-dir", global.pin_dir, "bpffs directory of cgfence's pins")
        ->capture_default_str();
    app.add_flag("--json", global.json, "machine-readable output");
    app.add_flag("--debug", global.debug, "log what is done, libbpf's messages too");

    ctl::Action action;
    ctl::add_load_commands(app, global, action);
    ctl::add_profile_commands(app, global, action);
    ctl::add_events_command(app, global, action);
    ctl::add_container_commands(app, global, action);
    ctl::add_apply_command(app, global, action);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        int code = app.exit(e);
        return code == 0 ? exit_code::ok : exit_code::usage;
    }
    log::configure(global.debug ? log::Level::debug : log::Level::info);
    libbpf_log::install();
    return action ? action() : exit_code::usage;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return cgfence::exit_code::failed;
    }
}
