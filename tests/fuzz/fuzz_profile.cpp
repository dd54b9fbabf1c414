// The profile parser. Beyond "never crashes": parse_profile and check_profile
// agree; every error is one line, "<source>:<line>: ...", with a line in the
// text; and an accepted profile holds what the policy compiler relies on
// (normalized absolute paths, one rule per path and per filesystem magic,
// access within rwx).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "abi.hpp"
#include "fuzz_check.hpp"
#include "profile.hpp"

using cgfence::fuzz::one_line;

namespace {

const std::string kSource = "/etc/cgfence/profiles/fuzz.json";

// Errors and warnings both read "<source>:<line>: <what>".
void check_located(const std::string &message, const std::string &text)
{
    FUZZ_CHECK(one_line(message), message);
    FUZZ_CHECK(message.rfind(kSource + ":", 0) == 0, message);
    const size_t digits = kSource.size() + 1;
    const size_t colon = message.find(':', digits);
    FUZZ_CHECK(colon != std::string::npos && colon > digits, message);
    const std::string number = message.substr(digits, colon - digits);
    FUZZ_CHECK(number.size() < 10 && std::all_of(number.begin(), number.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; }),
               message);
    const long line = std::stol(number);
    const long lines = 1 + std::count(text.begin(), text.end(), '\n');
    FUZZ_CHECK(line >= 1 && line <= lines,
               message + " (the text has " + std::to_string(lines) + " lines)");
}

void check_path(const std::string &path)
{
    FUZZ_CHECK(!path.empty() && path[0] == '/', path);
    FUZZ_CHECK(path.find('\0') == std::string::npos, path);
    FUZZ_CHECK(path.find("//") == std::string::npos, path);
    FUZZ_CHECK(path == "/" || path.back() != '/', path);
    const std::string padded = path + "/";
    FUZZ_CHECK(padded.find("/./") == std::string::npos, path);
    FUZZ_CHECK(padded.find("/../") == std::string::npos, path);
    // Rules where inode numbers do not hold still are refused (profile.hpp).
    if (padded.rfind("/proc/", 0) == 0 && padded.size() > 6) {
        const std::string entry = padded.substr(6, padded.find('/', 6) - 6);
        FUZZ_CHECK(entry != "self" && entry != "thread-self" && entry != "sys" && entry != "net" &&
                       entry != "mounts",
                   path);
        FUZZ_CHECK(
            !std::all_of(entry.begin(), entry.end(), [](char c) { return c >= '0' && c <= '9'; }),
            path);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // read_profile_file refuses larger files.
    if (size > (size_t{1} << 20))
        return -1;
    const std::string text(reinterpret_cast<const char *>(data), size);
    const cgfence::ProfileCheck check = cgfence::check_profile(text, kSource, "fuzz");
    auto parsed = cgfence::parse_profile(text, kSource, "fuzz");
    FUZZ_CHECK(parsed.ok() == check.errors.empty(), "parse_profile and check_profile disagree");
    for (const std::string &error : check.errors)
        check_located(error, text);
    if (!parsed) {
        FUZZ_CHECK(parsed.error().detail == check.errors.front(), parsed.error().detail);
        return 0;
    }
    for (const std::string &warning : parsed->warnings)
        check_located(warning, text);
    FUZZ_CHECK(parsed->name == "fuzz", parsed->name);
    std::set<std::string> paths;
    std::set<uint64_t> magics;
    for (const cgfence::ProfileRule &rule : parsed->rules) {
        FUZZ_CHECK(rule.path.empty() != rule.fs.empty(), "a rule names both or neither");
        FUZZ_CHECK((rule.access & ~CGFENCE_ACCESS_ALL) == 0, std::to_string(rule.access));
        if (!rule.path.empty()) {
            check_path(rule.path);
            FUZZ_CHECK(paths.insert(rule.path).second, "duplicate path " + rule.path);
        } else {
            FUZZ_CHECK(cgfence::filesystem_magic(rule.fs) == rule.fs_magic, rule.fs);
            FUZZ_CHECK(rule.recursive, "recursive on fs rule " + rule.fs);
            FUZZ_CHECK(magics.insert(rule.fs_magic).second, "duplicate magic " + rule.fs);
        }
    }
    return 0;
}
