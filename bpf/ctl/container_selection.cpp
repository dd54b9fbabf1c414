#include "container_selection.hpp"

#include <filesystem>

#include "hook_config.hpp"

namespace cgfence::ctl {

Result<ContainerRecord> select_container(const PinnedMaps &maps, const std::string &id)
{
    auto records = all_records(maps);
    if (!records)
        return records.error();
    // The whole id or cgroup id; else a unique prefix of the id (engines
    // print short ids: `podman ps`).
    std::vector<ContainerRecord> exact;
    std::vector<ContainerRecord> prefixed;
    for (const ContainerRecord &r : *records) {
        const std::string name = r.value.id;
        if (id == name || id == std::to_string(r.value.cgroup))
            exact.push_back(r);
        else if (!id.empty() && name.compare(0, id.size(), id) == 0)
            prefixed.push_back(r);
    }
    const std::vector<ContainerRecord> &found = exact.empty() ? prefixed : exact;
    if (found.empty())
        return logic_error("find container", id, "none is registered so (see `cgfencectl ps`)");
    if (found.size() > 1)
        return logic_error("find container", id,
                           std::to_string(found.size()) +
                               " registered containers match; give the whole id, or the cgroup "
                               "id (see `cgfencectl ps`)");
    return found.front();
}

Result<SelectedContainer> open_container(const std::string &pin_dir, const std::string &id)
{
    auto maps = PinnedMaps::open(PinLayout{pin_dir});
    if (!maps)
        return maps.error();
    auto record = select_container(*maps, id);
    if (!record)
        return record.error();
    return SelectedContainer{std::move(*maps), *record};
}

void add_container_id(CLI::App &command, std::string &id)
{
    command.add_option("ID", id, "container id, a unique prefix of it, or its cgroup id")
        ->required();
}

void ProfileSource::add_options(CLI::App &command)
{
    config_path = kDefaultConfigPath;
    command.add_option("--config", config_path, "hook config whose profile_dirs are searched")
        ->capture_default_str();
    command.add_option("--profile-dir", profile_dirs,
                       "search this directory for profiles instead (repeatable)");
}

Result<Profile> ProfileSource::load(const std::string &name) const
{
    if (name.find('/') != std::string::npos) {
        auto text = read_profile_file(name);
        if (!text)
            return text.error();
        return parse_profile(*text, name, std::filesystem::path(name).stem().string());
    }
    std::vector<std::string> dirs = profile_dirs;
    if (dirs.empty()) {
        auto config = load_hook_config(config_path);
        if (!config)
            return config.error();
        dirs = config->profile_dirs;
    }
    return load_profile(name, dirs);
}

} // namespace cgfence::ctl
