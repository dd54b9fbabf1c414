#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "config.hpp"
#include "sandbox.hpp"

using namespace cgfence;
using namespace cgfence::oci;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Shaped like `runc spec` output, with the parts the hook reads filled in.
const std::string kRuncConfig = R"({
  "ociVersion": "1.0.2-dev",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
    {"destination": "/sys/fs/cgroup"}
  ],
  "annotations": {"io.cgfence.profile": "strict"},
  "hooks": {"prestart": [{"path": "/usr/libexec/oci/hooks.d/cgfence-hook"}]},
  "linux": {"cgroupsPath": "/cgfence/X", "namespaces": [{"type": "pid"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore"]}
})";

const std::string kMinimalConfig = R"({"root":{"path":"rootfs"}})";

Result<Config> parse(const std::string &text)
{
    return parse_config(text, "/b", "/b/config.json");
}

// The error message parse_config gives for `text`; the test fails if it parses.
std::string config_error(const std::string &text)
{
    auto config = parse(text);
    REQUIRE_FALSE(config.ok());
    return config.error().message();
}

// kRuncConfig with the value at JSON pointer `where` set to `value`.
std::string runc_with(const std::string &where, const Json &value)
{
    Json config = Json::parse(kRuncConfig);
    config[Json::json_pointer(where)] = value;
    return config.dump();
}

std::string runc_without(const std::string &where)
{
    Json config = Json::parse(kRuncConfig);
    const Json::json_pointer pointer(where);
    config[pointer.parent_pointer()].erase(pointer.back());
    return config.dump();
}

std::string root_path_of(const std::string &path)
{
    auto config = parse(Json{{"root", {{"path", path}}}}.dump());
    REQUIRE(config.ok());
    return config->root_path;
}

} // namespace

TEST_CASE("a runc config.json parses, unknown keys tolerated")
{
    auto config = parse(kRuncConfig);
    REQUIRE(config.ok());
    CHECK(config->oci_version == "1.0.2-dev");
    CHECK(config->root_path == "/b/rootfs");
    CHECK(config->root_readonly);
    CHECK(config->annotations ==
          std::map<std::string, std::string>{{"io.cgfence.profile", "strict"}});
    CHECK(config->cgroups_path == "/cgfence/X");
    REQUIRE(config->mounts.size() == 4);
    CHECK(config->mounts[0].destination == "/proc");
    CHECK(config->mounts[0].type == "proc");
    CHECK(config->mounts[0].source == "proc");
    CHECK(config->mounts[0].options.empty());
    CHECK(config->mounts[1].options ==
          std::vector<std::string>{"nosuid", "strictatime", "mode=755", "size=65536k"});
}

TEST_CASE("mounts keep the optional fields they have and leave the others empty")
{
    auto config = parse(kRuncConfig);
    REQUIRE(config.ok());
    const Mount &bind = config->mounts[2];
    CHECK(bind.destination == "/data");
    CHECK(bind.type == "bind");
    CHECK(bind.source == "/srv/data");
    CHECK(bind.options == std::vector<std::string>{"rbind", "ro"});
    const Mount &bare = config->mounts[3];
    CHECK(bare.destination == "/sys/fs/cgroup");
    CHECK(bare.type.empty());
    CHECK(bare.source.empty());
    CHECK(bare.options.empty());
}

TEST_CASE("a relative root.path is joined to the bundle and normalized")
{
    CHECK(root_path_of("rootfs") == "/b/rootfs");
    CHECK(root_path_of("./rootfs/") == "/b/rootfs");
    CHECK(root_path_of("layers//top/../rootfs") == "/b/layers/rootfs");
    CHECK(root_path_of("../images/alpine") == "/images/alpine");
    CHECK(root_path_of(".") == "/b");
    CHECK(root_path_of("../../..") == "/");
}

TEST_CASE("an absolute root.path is kept as it is")
{
    CHECK(root_path_of("/srv/images/alpine/rootfs") == "/srv/images/alpine/rootfs");
    CHECK(root_path_of("/srv/images/../rootfs/") == "/srv/images/../rootfs/");
}

TEST_CASE("only root.path is required")
{
    auto config = parse(kMinimalConfig);
    REQUIRE(config.ok());
    CHECK(config->oci_version.empty());
    CHECK(config->root_path == "/b/rootfs");
    CHECK_FALSE(config->root_readonly);
    CHECK(config->annotations.empty());
    CHECK(config->mounts.empty());
    CHECK(config->cgroups_path.empty());
}

TEST_CASE("null optional members read as absent")
{
    auto config = parse(R"({"ociVersion":null,"root":{"path":"r","readonly":null},)"
                        R"("annotations":null,"mounts":[{"destination":"/d","type":null,)"
                        R"("options":null}],"linux":{"cgroupsPath":null}})");
    REQUIRE(config.ok());
    CHECK(config->oci_version.empty());
    CHECK_FALSE(config->root_readonly);
    CHECK(config->annotations.empty());
    REQUIRE(config->mounts.size() == 1);
    CHECK(config->mounts[0].type.empty());
    CHECK(config->mounts[0].options.empty());
    CHECK(config->cgroups_path.empty());
}

TEST_CASE("a relative mount destination is taken from the container's root")
{
    auto config = parse(runc_with("/mounts/2/destination", "data/in"));
    REQUIRE(config.ok());
    CHECK(config->mounts[2].destination == "/data/in");
}

TEST_CASE("cgroupsPath is read in its path and systemd forms, empty when absent")
{
    auto systemd = parse(runc_with("/linux/cgroupsPath", "system.slice:runc:X"));
    REQUIRE(systemd.ok());
    CHECK(systemd->cgroups_path == "system.slice:runc:X");
    auto without = parse(runc_without("/linux/cgroupsPath"));
    REQUIRE(without.ok());
    CHECK(without->cgroups_path.empty());
    auto no_linux = parse(runc_without("/linux"));
    REQUIRE(no_linux.ok());
    CHECK(no_linux->cgroups_path.empty());
}

TEST_CASE("a missing or mistyped root is named")
{
    CHECK(config_error(runc_without("/root")) == R"(/b/config.json: field "root" is missing)");
    CHECK(config_error(runc_with("/root", "rootfs")) ==
          R"(/b/config.json: field "root" must be an object, got string)");
    CHECK(config_error(runc_with("/root", nullptr)) ==
          R"(/b/config.json: field "root" must be an object, got null)");
    CHECK(config_error(runc_without("/root/path")) ==
          R"(/b/config.json: field "root.path" is missing)");
    CHECK(config_error(runc_with("/root/path", 7)) ==
          R"(/b/config.json: field "root.path" must be a string, got number)");
    CHECK(config_error(runc_with("/root/path", "")) ==
          R"(/b/config.json: field "root.path" is empty)");
}

TEST_CASE("root.readonly must be a boolean")
{
    CHECK(config_error(runc_with("/root/readonly", "true")) ==
          R"(/b/config.json: field "root.readonly" must be a boolean, got string)");
    CHECK(config_error(runc_with("/root/readonly", 1)) ==
          R"(/b/config.json: field "root.readonly" must be a boolean, got number)");
}

TEST_CASE("ociVersion and annotations of the wrong type are named")
{
    CHECK(config_error(runc_with("/ociVersion", 1.0)) ==
          R"(/b/config.json: field "ociVersion" must be a string, got number)");
    CHECK(config_error(runc_with("/annotations", Json::array({"a"}))) ==
          R"(/b/config.json: field "annotations" must be an object, got array)");
    CHECK(
        config_error(runc_with("/annotations/io.cgfence.mode", false)) ==
        R"(/b/config.json: field "annotations" key "io.cgfence.mode" must be a string, got boolean)");
}

TEST_CASE("mounts that are not an array of objects are named")
{
    CHECK(config_error(runc_with("/mounts", Json::object())) ==
          R"(/b/config.json: field "mounts" must be an array, got object)");
    CHECK(config_error(runc_with("/mounts/2", "/data")) ==
          R"(/b/config.json: field "mounts[2]" must be an object, got string)");
}

TEST_CASE("each mount field of the wrong type, or missing, is named with its index")
{
    CHECK(config_error(runc_without("/mounts/2/destination")) ==
          R"(/b/config.json: field "mounts[2].destination" is missing)");
    CHECK(config_error(runc_with("/mounts/2/destination", 5)) ==
          R"(/b/config.json: field "mounts[2].destination" must be a string, got number)");
    CHECK(config_error(runc_with("/mounts/2/destination", "")) ==
          R"(/b/config.json: field "mounts[2].destination" is empty)");
    CHECK(config_error(runc_with("/mounts/2/type", Json::array())) ==
          R"(/b/config.json: field "mounts[2].type" must be a string, got array)");
    CHECK(config_error(runc_with("/mounts/2/source", true)) ==
          R"(/b/config.json: field "mounts[2].source" must be a string, got boolean)");
    CHECK(config_error(runc_with("/mounts/2/options", "rbind,ro")) ==
          R"(/b/config.json: field "mounts[2].options" must be an array, got string)");
    CHECK(config_error(runc_with("/mounts/2/options/1", 0)) ==
          R"(/b/config.json: field "mounts[2].options[1]" must be a string, got number)");
}

TEST_CASE("linux and linux.cgroupsPath of the wrong type are named")
{
    CHECK(config_error(runc_with("/linux", Json::array())) ==
          R"(/b/config.json: field "linux" must be an object, got array)");
    CHECK(config_error(runc_with("/linux/cgroupsPath", 42)) ==
          R"(/b/config.json: field "linux.cgroupsPath" must be a string, got number)");
}

TEST_CASE("paths with a NUL byte are refused")
{
    const std::string nul("a\0b", 3);
    CHECK(config_error(runc_with("/root/path", nul)) ==
          R"(/b/config.json: field "root.path" contains a NUL byte)");
    CHECK(config_error(runc_with("/mounts/1/destination", "/" + nul)) ==
          R"(/b/config.json: field "mounts[1].destination" contains a NUL byte)");
    CHECK(config_error(runc_with("/mounts/2/source", "/" + nul)) ==
          R"(/b/config.json: field "mounts[2].source" contains a NUL byte)");
    CHECK(config_error(runc_with("/linux/cgroupsPath", nul)) ==
          R"(/b/config.json: field "linux.cgroupsPath" contains a NUL byte)");
}

TEST_CASE("config text that is not a JSON object is refused")
{
    CHECK(config_error("") == "/b/config.json: empty input");
    CHECK(config_error(R"({"root":{"path":"rootfs"})") ==
          "/b/config.json: not JSON: parse error at line 1, column 26: syntax error while parsing "
          "object - unexpected end of input; expected '}'");
    CHECK(config_error("[]") == "/b/config.json: not a JSON object, got array");
}

TEST_CASE("parse_config refuses a relative bundle")
{
    auto config = parse_config(kMinimalConfig, "b", "b/config.json");
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() == R"(b/config.json: the bundle path "b" is not absolute)");
}

TEST_CASE("parse_config refuses a bundle path with a NUL byte, on one line")
{
    auto config = parse_config(kMinimalConfig, std::string("/b\0/../etc", 10), "/b/config.json");
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          R"(/b/config.json: the bundle path "/b\u0000/../etc" contains a NUL byte)");
}

TEST_CASE("read_config reads a bundle's config.json")
{
    test::TempDir bundle;
    test::write_file(bundle / "config.json", kRuncConfig);
    auto config = read_config(bundle.path().string());
    REQUIRE(config.ok());
    CHECK(config->root_path == (bundle / "rootfs").string());
    CHECK(config->mounts.size() == 4);
    CHECK(config->cgroups_path == "/cgfence/X");
}

TEST_CASE("read_config names the file in a content error")
{
    test::TempDir bundle;
    test::write_file(bundle / "config.json", R"({"mounts":[]})");
    auto config = read_config(bundle.path().string());
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          (bundle / "config.json").string() + R"(: field "root" is missing)");
}

TEST_CASE("a symlinked config.json is refused")
{
    test::TempDir bundle;
    test::write_file(bundle / "elsewhere.json", kRuncConfig);
    fs::create_symlink(bundle / "elsewhere.json", bundle / "config.json");
    auto config = read_config(bundle.path().string());
    REQUIRE_FALSE(config.ok());
    const std::string path = (bundle / "config.json").string();
    CHECK(config.error().errnum == ELOOP);
    CHECK(config.error().message() ==
          "open " + path +
              ": Too many levels of symbolic links (a symbolic link is refused: the hook reads "
              "only the bundle's own file)");
}

TEST_CASE("a missing config.json is an error with ENOENT")
{
    test::TempDir bundle;
    auto config = read_config(bundle.path().string());
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().errnum == ENOENT);
    CHECK(config.error().message() ==
          "open " + (bundle / "config.json").string() + ": No such file or directory");
}

TEST_CASE("a directory in place of config.json is refused")
{
    test::TempDir bundle;
    fs::create_directory(bundle / "config.json");
    auto config = read_config(bundle.path().string());
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          "read " + (bundle / "config.json").string() + ": not a regular file");
}

TEST_CASE("a FIFO in place of config.json is refused without waiting for a writer")
{
    test::TempDir bundle;
    REQUIRE(::mkfifo((bundle / "config.json").c_str(), 0644) == 0);
    auto config = read_config(bundle.path().string());
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          "read " + (bundle / "config.json").string() + ": not a regular file");
}

TEST_CASE("a config.json of the size limit is read, one byte more is refused")
{
    test::TempDir bundle;
    std::string text = kMinimalConfig;
    text.insert(text.size() - 1, R"(,"padding":")");
    text.insert(text.size() - 1, kMaxConfigBytes - text.size() - 1, 'x');
    text.insert(text.size() - 1, "\"");
    REQUIRE(text.size() == kMaxConfigBytes);
    test::write_file(bundle / "config.json", text);
    auto config = read_config(bundle.path().string());
    REQUIRE(config.ok());
    CHECK(config->root_path == (bundle / "rootfs").string());

    test::write_file(bundle / "config.json", text + "\n");
    auto refused = read_config(bundle.path().string());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == "read " + (bundle / "config.json").string() +
                                           ": size 4194305 exceeds the limit of 4194304 bytes");
}

TEST_CASE("read_config refuses a relative bundle")
{
    auto config = read_config("bundles/x");
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          "read bundles/x/config.json: the bundle path is not absolute");
}

TEST_CASE("read_config refuses a bundle path with a NUL byte")
{
    auto config = read_config(std::string("/tmp\0/x", 7));
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message() ==
          R"(read "/tmp\u0000/x/config.json": the bundle path contains a NUL byte)");
}
