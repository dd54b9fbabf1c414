#include "hook_config.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "profile.hpp"

namespace cgfence {
namespace {

using nlohmann::json;

Error bad(const std::string &source, const std::string &what)
{
    return logic_error("read config", source, what);
}

Result<std::string> string_field(const json &doc, const char *key, const std::string &source)
{
    if (!doc[key].is_string())
        return bad(source, std::string("\"") + key + "\" must be a string");
    return doc[key].get<std::string>();
}

Result<uint32_t> count_field(const json &doc, const char *key, const std::string &source)
{
    const json &value = doc[key];
    if (!value.is_number_unsigned() || value.get<uint64_t>() > 100000)
        return bad(source, std::string("\"") + key + "\" must be a whole number from 0 to 100000");
    return value.get<uint32_t>();
}

} // namespace

Result<HookConfig> parse_hook_config(const std::string &text, const std::string &source)
{
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return bad(source, "not a JSON object");
    HookConfig config;
    for (const auto &[key, value] : doc.items()) {
        if (key == "default_profile") {
            auto name = string_field(doc, "default_profile", source);
            if (!name)
                return name.error();
            if (!name->empty() && !valid_profile_name(*name))
                return bad(source, "\"default_profile\": \"" + *name +
                                       "\" is not a profile name ([A-Za-z0-9._-]+)");
            config.default_profile = *name;
        } else if (key == "pin_dir") {
            auto dir = string_field(doc, "pin_dir", source);
            if (!dir)
                return dir.error();
            if (dir->empty() || (*dir)[0] != '/')
                return bad(source, "\"pin_dir\" must be an absolute path");
            config.pin_dir = *dir;
        } else if (key == "profile_dirs") {
            if (!value.is_array())
                return bad(source, "\"profile_dirs\" must be an array of absolute paths");
            config.profile_dirs.clear();
            for (const json &dir : value) {
                if (!dir.is_string() || dir.get<std::string>().empty() ||
                    dir.get<std::string>()[0] != '/')
                    return bad(source, "\"profile_dirs\" must be an array of absolute paths");
                config.profile_dirs.push_back(dir.get<std::string>());
            }
        } else if (key == "log_level") {
            auto level = string_field(doc, "log_level", source);
            if (!level)
                return level.error();
            if (*level == "debug")
                config.log_level = log::Level::debug;
            else if (*level == "info")
                config.log_level = log::Level::info;
            else if (*level == "warning")
                config.log_level = log::Level::warning;
            else if (*level == "error")
                config.log_level = log::Level::error;
            else
                return bad(source, "\"log_level\" must be debug, info, warning or error");
        } else if (key == "on_unavailable") {
            auto choice = string_field(doc, "on_unavailable", source);
            if (!choice)
                return choice.error();
            if (*choice == "refuse")
                config.on_unavailable = OnUnavailable::refuse;
            else if (*choice == "allow")
                config.on_unavailable = OnUnavailable::allow;
            else
                return bad(source, "\"on_unavailable\" must be \"refuse\" or \"allow\"");
        } else if (key == "events_per_second" || key == "events_burst") {
            auto count = count_field(doc, key.c_str(), source);
            if (!count)
                return count.error();
            (key == "events_burst" ? config.events_burst : config.events_per_second) = *count;
        } else {
            return bad(source, "unknown key \"" + key +
                                   "\" (known: default_profile, pin_dir, profile_dirs, log_level, "
                                   "on_unavailable, events_per_second, events_burst)");
        }
    }
    return config;
}

Result<HookConfig> load_hook_config(const std::string &path)
{
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT)
            return HookConfig{};
        return system_error("read config", path);
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse_hook_config(text.str(), path);
}

} // namespace cgfence
