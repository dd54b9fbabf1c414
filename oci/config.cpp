#include "config.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <utility>

#include "json_fields.hpp"
#include "state.hpp"
#include "unique_fd.hpp"

namespace cgfence::oci {
namespace {

// A regular file always polls readable: read_all's timeout never applies.
constexpr std::chrono::seconds kFileReadTimeout{5};

bool is_absolute(const std::string &path)
{
    return !path.empty() && path.front() == '/';
}

// A relative root.path joined to the bundle as runc does (Go's filepath.Join):
// lexically, without a trailing '/'. An absolute one is kept as it is.
std::string resolve_root(const std::string &bundle, const std::string &path)
{
    if (is_absolute(path))
        return path;
    std::string joined = std::filesystem::path(bundle + "/" + path).lexically_normal().string();
    if (joined.size() > 1 && joined.back() == '/')
        joined.pop_back();
    return joined;
}

Status read_root(const Fields &fields, const std::string &bundle, Config &config)
{
    auto root = fields.member("root", Json::value_t::object, true);
    if (!root)
        return root.error();
    const Fields root_fields = fields.nested(**root, "root");
    std::string path;
    Status read = root_fields.required("path", path);
    if (read && path.empty())
        read = root_fields.error(root_fields.name("path"), "is empty");
    if (read)
        read = root_fields.no_nul("path", path);
    if (read)
        read = root_fields.optional("readonly", config.root_readonly);
    if (read)
        config.root_path = resolve_root(bundle, path);
    return read;
}

Result<Mount> read_mount(const Fields &fields)
{
    Mount mount;
    Status read = fields.required("destination", mount.destination);
    if (read && mount.destination.empty())
        read = fields.error(fields.name("destination"), "is empty");
    if (read)
        read = fields.no_nul("destination", mount.destination);
    if (read)
        read = fields.optional("type", mount.type);
    if (read)
        read = fields.optional("source", mount.source);
    if (read)
        read = fields.no_nul("source", mount.source);
    if (read)
        read = fields.optional("options", mount.options);
    if (!read)
        return read.error();
    // runc takes a relative destination (with a warning) as relative to the
    // container's root.
    if (!is_absolute(mount.destination))
        mount.destination.insert(0, "/");
    return mount;
}

Status read_mounts(const Fields &fields, std::vector<Mount> &mounts)
{
    auto array = fields.member("mounts", Json::value_t::array, false);
    if (!array)
        return array.error();
    if (*array == nullptr)
        return {};
    const Json &elements = **array;
    for (size_t i = 0; i < elements.size(); i++) {
        const std::string name = element_name(fields.name("mounts"), i);
        if (!elements[i].is_object())
            return fields.wrong_type(name, Json::value_t::object, elements[i]);
        auto mount = read_mount(fields.nested(elements[i], name));
        if (!mount)
            return mount.error();
        mounts.push_back(std::move(*mount));
    }
    return {};
}

Status read_cgroups_path(const Fields &fields, std::string &cgroups_path)
{
    auto section = fields.member("linux", Json::value_t::object, false);
    if (!section)
        return section.error();
    if (*section == nullptr)
        return {};
    const Fields linux_fields = fields.nested(**section, "linux");
    Status read = linux_fields.optional("cgroupsPath", cgroups_path);
    if (read)
        read = linux_fields.no_nul("cgroupsPath", cgroups_path);
    return read;
}

// O_NOFOLLOW: a config.json that is a symlink (from an image or a hostile
// bundle) must not point the hook at another file. O_NONBLOCK: opening a FIFO
// must not hang the hook (fstat then refuses it).
Result<UniqueFd> open_config(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP)
        return Error{"open", path, ELOOP,
                     "a symbolic link is refused: the hook reads only the bundle's own file"};
    if (fd < 0)
        return system_error("open", path);
    UniqueFd file(fd);
    struct stat info {};
    if (::fstat(file.get(), &info) != 0)
        return system_error("stat", path);
    if (!S_ISREG(info.st_mode))
        return logic_error("read", path, "not a regular file");
    if (info.st_size > static_cast<off_t>(kMaxConfigBytes))
        return logic_error("read", path,
                           "size " + std::to_string(info.st_size) + " exceeds the limit of " +
                               std::to_string(kMaxConfigBytes) + " bytes");
    return file;
}

} // namespace

Result<Config> parse_config(const std::string &text, const std::string &bundle,
                            const std::string &source)
{
    if (!is_absolute(bundle))
        return source_error(source, "the bundle path " + quoted(bundle) + " is not absolute");
    // root.path is joined to the bundle; a NUL would cut the path the kernel sees.
    if (bundle.find('\0') != std::string::npos)
        return source_error(source, "the bundle path " + quoted(bundle) + " contains a NUL byte");
    auto json = parse_object(text, source);
    if (!json)
        return json.error();
    const Fields fields(*json, source);
    Config config;
    Status read = fields.optional("ociVersion", config.oci_version);
    if (read)
        read = read_root(fields, bundle, config);
    if (read)
        read = fields.optional("annotations", config.annotations);
    if (read)
        read = read_mounts(fields, config.mounts);
    if (read)
        read = read_cgroups_path(fields, config.cgroups_path);
    if (!read)
        return read.error();
    return config;
}

Result<Config> read_config(const std::string &bundle)
{
    const std::string path = bundle + "/config.json";
    if (!is_absolute(bundle))
        return logic_error("read", path, "the bundle path is not absolute");
    if (bundle.find('\0') != std::string::npos)
        return logic_error("read", quoted(path), "the bundle path contains a NUL byte");
    auto file = open_config(path);
    if (!file)
        return file.error();
    auto text = read_all(file->get(), kFileReadTimeout, kMaxConfigBytes);
    if (!text)
        return Error{text.error().operation, path, text.error().errnum, text.error().detail};
    return parse_config(*text, bundle, path);
}

} // namespace cgfence::oci
