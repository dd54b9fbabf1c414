#include "state.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>
#include <poll.h>
#include <sys/types.h>
#include <unistd.h>
#include <utility>

#include "json_fields.hpp"

namespace cgfence::oci {
namespace {

constexpr std::array<const char *, 4> kStatuses = {"creating", "created", "running", "stopped"};

// The id names the container's records and may become a path component.
Status check_id(const Fields &fields, const std::string &id)
{
    if (id.empty())
        return fields.error("id", "is empty");
    if (id.find('/') != std::string::npos)
        return fields.error("id", "contains '/'");
    if (id == "." || id == "..")
        return fields.error("id", "is " + quoted(id));
    return fields.no_nul("id", id);
}

Status check_status(const Fields &fields, const std::string &status)
{
    for (const char *known : kStatuses) {
        if (status == known)
            return {};
    }
    return fields.error("status", "is " + quoted(status) +
                                      ", expected creating, created, running or stopped");
}

Status check_bundle(const Fields &fields, const std::string &bundle)
{
    if (bundle.empty() || bundle.front() != '/')
        return fields.error("bundle", "must be an absolute path, got " + quoted(bundle));
    return fields.no_nul("bundle", bundle);
}

// `pid` absent (runc at poststop), null or 0 (crun at poststop): no process.
Result<std::optional<int64_t>> read_pid(const Fields &fields)
{
    auto member = fields.member("pid", Json::value_t::number_integer, false);
    if (!member)
        return member.error();
    const Json *pid = *member;
    if (pid == nullptr)
        return std::optional<int64_t>();
    // The parser stores a non-negative integer as unsigned, a negative one as signed.
    if (!pid->is_number_unsigned())
        return fields.error("pid", "must not be negative, got " + pid->dump());
    const auto value = pid->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
        return fields.error("pid", "is out of range, got " + pid->dump());
    if (value == 0)
        return std::optional<int64_t>();
    return std::optional<int64_t>(static_cast<int64_t>(value));
}

std::string fd_name(int fd)
{
    return fd == STDIN_FILENO ? "stdin" : "fd " + std::to_string(fd);
}

// What is left until `deadline`, in poll()'s milliseconds, rounded up so that
// a poll never returns just before it.
int poll_timeout(std::chrono::steady_clock::time_point deadline)
{
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
        left.count(), 0, std::numeric_limits<int>::max()));
}

} // namespace

Result<State> parse_state(const std::string &text, const std::string &source)
{
    auto json = parse_object(text, source);
    if (!json)
        return json.error();
    const Fields fields(*json, source);
    State state;
    const std::array<std::pair<const char *, std::string *>, 4> required = {{
        {"ociVersion", &state.oci_version},
        {"id", &state.id},
        {"status", &state.status},
        {"bundle", &state.bundle},
    }};
    for (const auto &[key, out] : required) {
        if (Status read = fields.required(key, *out); !read)
            return read.error();
    }
    Status valid = check_id(fields, state.id);
    if (valid)
        valid = check_status(fields, state.status);
    if (valid)
        valid = check_bundle(fields, state.bundle);
    if (valid)
        valid = fields.optional("annotations", state.annotations);
    if (!valid)
        return valid.error();
    auto pid = read_pid(fields);
    if (!pid)
        return pid.error();
    state.pid = *pid;
    return state;
}

Result<std::string> read_all(int fd, std::chrono::milliseconds timeout, size_t max_bytes)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string text;
    std::array<char, 16384> buffer{};
    while (true) {
        pollfd readable{fd, POLLIN, 0};
        const int ready = ::poll(&readable, 1, poll_timeout(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return system_error("poll", fd_name(fd));
        if (ready == 0)
            return logic_error("read", fd_name(fd),
                               "no end of input within " + std::to_string(timeout.count()) +
                                   " ms (is the writer keeping it open?)");
        // At most one byte past the limit: enough to know that it was passed.
        const size_t room = max_bytes - text.size();
        const size_t wanted = room < buffer.size() ? room + 1 : buffer.size();
        const ssize_t got = ::read(fd, buffer.data(), wanted);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return system_error("read", fd_name(fd));
        if (got == 0)
            return text;
        text.append(buffer.data(), static_cast<size_t>(got));
        if (text.size() > max_bytes)
            return logic_error("read", fd_name(fd),
                               "input exceeds the limit of " + std::to_string(max_bytes) +
                                   " bytes");
    }
}

} // namespace cgfence::oci
