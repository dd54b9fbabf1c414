// The bundle's config.json reader. The hook resolves root.path and the mount
// destinations as paths, so what it accepts must be absolute and NUL-free.
//
// Input: config.json text; or, when it starts with '/', a bundle path on the
// first line and the text after it (so that the bundle is fuzzed too).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config.hpp"
#include "fuzz_check.hpp"

using cgfence::fuzz::one_line;

namespace {

bool absolute_path(const std::string &path)
{
    return !path.empty() && path[0] == '/' && path.find('\0') == std::string::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // read_config refuses larger files before parsing them.
    if (size > cgfence::oci::kMaxConfigBytes)
        return -1;
    std::string text(reinterpret_cast<const char *>(data), size);
    std::string bundle = "/run/containers/bundle";
    if (!text.empty() && text[0] == '/') {
        const size_t newline = text.find('\n');
        bundle = text.substr(0, newline);
        text = newline == std::string::npos ? "" : text.substr(newline + 1);
    }
    const std::string source = "/run/containers/bundle/config.json";
    auto config = cgfence::oci::parse_config(text, bundle, source);
    if (!config) {
        const std::string message = config.error().message();
        FUZZ_CHECK(one_line(message), message);
        FUZZ_CHECK(message.rfind(source + ": ", 0) == 0, message);
        return 0;
    }
    FUZZ_CHECK(absolute_path(bundle), bundle);
    FUZZ_CHECK(absolute_path(config->root_path), config->root_path);
    for (const cgfence::oci::Mount &mount : config->mounts) {
        FUZZ_CHECK(absolute_path(mount.destination), mount.destination);
        FUZZ_CHECK(mount.source.find('\0') == std::string::npos, mount.source);
    }
    FUZZ_CHECK(config->cgroups_path.find('\0') == std::string::npos, config->cgroups_path);
    return 0;
}
