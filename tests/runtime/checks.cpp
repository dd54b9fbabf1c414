#include "checks.hpp"

#include <algorithm>
#include <doctest/doctest.h>

#include "kernel_dev.hpp"

namespace cgfence::test {
using nlohmann::json;

json probe_profile()
{
    json rules = json::array();
    for (const ExpectedRule &rule : kProbeRules)
        rules.push_back({{"path", rule.path}, {"access", rule.rights}});
    return {{"default", "allow"}, {"rules", rules}};
}

std::string key_text(const PolicyKey &key)
{
    return std::to_string(key.dev >> 20) + ":" + std::to_string(key.dev & 0xfffffU) + " ino " +
           std::to_string(key.ino);
}

std::string keys_text(std::vector<uint64_t> keys)
{
    std::sort(keys.begin(), keys.end());
    std::string text;
    for (uint64_t key : keys)
        text += (text.empty() ? "" : ", ") + std::to_string(key);
    return text;
}

std::string records_text(const std::vector<ContainerRecord> &records)
{
    std::vector<std::string> lines;
    lines.reserve(records.size());
    for (const ContainerRecord &r : records)
        lines.push_back(std::string(r.value.id) + " " + r.value.bundle + " " + r.value.profile +
                        " " + std::to_string(r.value.cgroup) + "\n");
    std::sort(lines.begin(), lines.end());
    std::string text;
    for (const std::string &line : lines)
        text += line;
    return text;
}

std::string missing_words(const std::string &text, const std::vector<std::string> &words)
{
    std::string missing;
    for (const std::string &word : words) {
        if (text.find(word) == std::string::npos)
            missing += (missing.empty() ? "missing \"" : ", \"") + word + "\"";
    }
    return missing.empty() ? "" : missing + " in: " + text;
}

Finished run_in_view(const RunningContainer &container, const std::vector<std::string> &command)
{
    std::vector<std::string> argv = {"nsenter", "--target", std::to_string(container.pid()),
                                     "--mount", "--pid",    "--root",
                                     "--wd",    "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return run_captured(argv);
}

namespace {

Finished stat_inside(const RunningContainer &container, const std::string &path)
{
    Finished stat = run_in_view(container, {"stat", "-c", "%i %d", path});
    REQUIRE(outcome(stat) == "exit 0");
    return stat;
}

} // namespace

PolicyKey key_inside(const RunningContainer &container, const std::string &path,
                     const std::string &mountinfo)
{
    const PolicyKey from_stat = key_from_stat(stat_inside(container, path).out);
    return PolicyKey{CGFENCE_KEY_INODE, kernel_dev_at(mountinfo, path), from_stat.ino};
}

uint32_t stat_dev_inside(const RunningContainer &container, const std::string &path)
{
    return key_from_stat(stat_inside(container, path).out).dev;
}

std::string mountinfo_inside(const RunningContainer &container)
{
    const Finished cat = run_in_view(container, {"cat", "/proc/self/mountinfo"});
    REQUIRE(outcome(cat) == "exit 0");
    return cat.out;
}

void check_probe_policy(const PinnedMaps &maps, const RunningContainer &container,
                        size_t overlay_layers)
{
    const uint64_t cgroup = cgroup_id_of(container.pid());
    const MapEntries entries = map_entries(maps);
    CHECK(keys_text(entries.policies) == std::to_string(cgroup));
    CHECK(keys_text(entries.counters) == std::to_string(cgroup));
    CHECK(keys_text(entries.containers) == std::to_string(cgroup));
    auto policy = read_policy(maps, cgroup);
    REQUIRE(policy.ok());

    const std::string mountinfo = mountinfo_inside(container);
    CHECK(policy->rules.size() ==
          kProbeRules.size() + distinct_mount_roots(mountinfo) + overlay_layers);
    std::string expected;
    std::string found;
    for (const ExpectedRule &rule : kProbeRules) {
        const PolicyKey key = key_inside(container, rule.path, mountinfo);
        expected += std::string(rule.path) + " " + rule.rights + "; ";
        found += std::string(rule.path) + " " + rule_text(*policy, key) + "; ";
    }
    CHECK(found == expected);
    CHECK(policy->settings.mode == CGFENCE_MODE_ENFORCE);
    CHECK(policy->settings.default_access == CGFENCE_ACCESS_ALL);

    REQUIRE(entries.records.size() == 1);
    const cgfence_record &record = entries.records.front().value;
    CHECK(std::string(record.id) == container.id());
    CHECK(std::string(record.bundle) == container.bundle());
    CHECK(std::string(record.profile) == "probe");
    CHECK(record.cgroup == cgroup);
    CHECK(record.mode == CGFENCE_MODE_ENFORCE);
    CHECK(record.rule_count == policy->rules.size());
}

Finished run_as_container(OciContainer &container, Bundle &bundle,
                          const std::vector<std::string> &command)
{
    bundle.args(command);
    bundle.write();
    return container.run_to_end();
}

void check_no_entries(const PinnedMaps &maps)
{
    const MapEntries entries = map_entries(maps);
    CHECK(keys_text(entries.policies) == "");
    CHECK(keys_text(entries.counters) == "");
    CHECK(keys_text(entries.containers) == "");
    CHECK(records_text(entries.records) == "");
}

} // namespace cgfence::test
