// cgfencectl profile check (and profile learn, in learn_command.cpp)
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "help_text.hpp"
#include "profile.hpp"

namespace cgfence::ctl {
namespace {

struct FileCheck {
    std::string file;
    ProfileCheck check;
};

// The hook finds a profile as NAME.json: a file named otherwise is valid
// JSON it will never load.
std::optional<std::string> file_name_warning(const std::string &file)
{
    const std::filesystem::path path(file);
    if (path.extension() == ".json" && valid_profile_name(path.stem().string()))
        return std::nullopt;
    return file + ": the hook loads profiles as NAME.json, NAME of letters, digits, '.', '_' "
                  "and '-' (rename the file to use it)";
}

FileCheck check_file(const std::string &file)
{
    auto text = read_profile_file(file);
    if (!text)
        return {file, {{}, {text.error().message()}}};
    const std::string name = std::filesystem::path(file).stem().string();
    FileCheck result{file, check_profile(*text, file, name)};
    if (auto warning = file_name_warning(file))
        result.check.profile.warnings.push_back(*warning);
    return result;
}

nlohmann::ordered_json rule_json(const ProfileRule &rule)
{
    nlohmann::ordered_json out;
    if (rule.fs.empty())
        out["path"] = rule.path;
    else
        out["fs"] = rule.fs;
    out["access"] = access_text(rule.access);
    out["recursive"] = rule.recursive;
    out["line"] = rule.line;
    return out;
}

nlohmann::ordered_json file_json(const FileCheck &result)
{
    const ProfileCheck &check = result.check;
    const bool valid = check.errors.empty();
    nlohmann::ordered_json rules = nlohmann::ordered_json::array();
    if (valid) {
        for (const ProfileRule &rule : check.profile.rules)
            rules.push_back(rule_json(rule));
    }
    return {{"file", result.file},
            {"valid", valid},
            {"errors", check.errors},
            {"warnings", check.profile.warnings},
            {"mode", valid ? nlohmann::ordered_json(mode_name(check.profile.mode))
                           : nlohmann::ordered_json()},
            {"default", valid
                            ? nlohmann::ordered_json(check.profile.default_allow ? "allow" : "deny")
                            : nlohmann::ordered_json()},
            {"rules", rules}};
}

void print_text(const FileCheck &result)
{
    const ProfileCheck &check = result.check;
    for (const std::string &error : check.errors)
        std::printf("%s\n", error.c_str());
    if (!check.errors.empty())
        return;
    const size_t count = check.profile.rules.size();
    std::printf("%s: ok: %s, default %s, %zu rule%s\n", result.file.c_str(),
                mode_name(check.profile.mode), check.profile.default_allow ? "allow" : "deny",
                count, count == 1 ? "" : "s");
    for (const std::string &warning : check.profile.warnings)
        std::printf("  warning: %s\n", warning.c_str());
}

int run_check(const GlobalOptions &global, const std::vector<std::string> &files)
{
    bool all_valid = true;
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const std::string &file : files) {
        const FileCheck result = check_file(file);
        all_valid = all_valid && result.check.errors.empty();
        if (global.json)
            out.push_back(file_json(result));
        else
            print_text(result);
    }
    if (global.json)
        std::puts(out.dump(2).c_str());
    return all_valid ? exit_code::ok : exit_code::failed;
}

} // namespace

void add_profile_commands(CLI::App &app, const GlobalOptions &global, Action &action)
{
    auto *profile_cmd =
        app.add_subcommand("profile", "Container profiles: which paths and filesystems a "
                                      "container may read, write, execute (cgfence-profile(5))");
    profile_cmd->require_subcommand(1);
    profile_cmd->footer(help_footer("Examples:\n  cgfencectl profile check web.json\n"
                                    "  cgfencectl profile learn web-1 -o web.json"));

    auto *check_cmd = profile_cmd->add_subcommand(
        "check", "Validate profile files: every problem, one line each, with its line and fix");
    static std::vector<std::string> files;
    check_cmd->add_option("FILE", files, "profile files (NAME.json)")->required();
    check_cmd->footer(help_footer(
        "Prints \"FILE: ok: MODE, default allow|deny, N rules\" and any warnings, or one line\n"
        "per error: \"FILE:LINE: what is wrong (how to fix it)\".\n"
        "Examples:\n"
        "  cgfencectl profile check /etc/cgfence/profiles/web.json\n"
        "  cgfencectl profile check --json /etc/cgfence/profiles/*.json\n"
        "Exit status 1 when a file is not a valid profile."));
    check_cmd->callback([&] { action = [&] { return run_check(global, files); }; });
    add_learn_command(*profile_cmd, global, action);
}

} // namespace cgfence::ctl
