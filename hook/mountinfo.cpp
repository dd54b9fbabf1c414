#include "mountinfo.hpp"

#include <fstream>
#include <sstream>

namespace cgfence {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string &field)
{
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); i++) {
        if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' &&
            field[i + 1] <= '3') {
            int value = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
            out.push_back(static_cast<char>(value));
            i += 3;
        } else {
            out.push_back(field[i]);
        }
    }
    return out;
}

std::vector<std::string> split(const std::string &line, char separator)
{
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, separator))
        fields.push_back(field);
    return fields;
}

} // namespace

Result<std::vector<MountEntry>> parse_mountinfo(const std::string &text)
{
    std::vector<MountEntry> mounts;
    std::istringstream in(text);
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
        number++;
        if (line.empty())
            continue;
        const std::vector<std::string> fields = split(line, ' ');
        size_t dash = 0;
        for (size_t i = 6; i < fields.size(); i++) {
            if (fields[i] == "-") {
                dash = i;
                break;
            }
        }
        auto bad = [&](const std::string &what) {
            std::string detail = what;
            detail += ": ";
            detail += line;
            return logic_error("parse mountinfo line", std::to_string(number), detail);
        };
        if (dash == 0 || fields.size() < dash + 3)
            return bad("no '-' separator followed by type, source and options");
        MountEntry m;
        try {
            m.mount_id = std::stoull(fields[0]);
            m.parent_id = std::stoull(fields[1]);
            const size_t colon = fields[2].find(':');
            if (colon == std::string::npos)
                return bad("no major:minor");
            m.major_number = static_cast<unsigned int>(std::stoul(fields[2].substr(0, colon)));
            m.minor_number = static_cast<unsigned int>(std::stoul(fields[2].substr(colon + 1)));
        } catch (const std::exception &) {
            return bad("a number field is not a number");
        }
        m.root = unescape(fields[3]);
        m.mount_point = unescape(fields[4]);
        m.options = fields[5];
        m.fstype = fields[dash + 1];
        m.source = unescape(fields[dash + 2]);
        m.super_options = dash + 3 < fields.size() ? unescape(fields[dash + 3]) : "";
        mounts.push_back(std::move(m));
    }
    return mounts;
}

Result<std::vector<MountEntry>> read_mountinfo(const std::string &pid)
{
    const std::string path = "/proc/" + pid + "/mountinfo";
    std::ifstream in(path);
    if (!in)
        return system_error("open", path);
    std::stringstream text;
    text << in.rdbuf();
    return parse_mountinfo(text.str());
}

std::string mount_option(const std::string &options, const std::string &name)
{
    for (const std::string &option : split(options, ',')) {
        if (option.compare(0, name.size() + 1, name + "=") == 0)
            return option.substr(name.size() + 1);
    }
    return {};
}

} // namespace cgfence
