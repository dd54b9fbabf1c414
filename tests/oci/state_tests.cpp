#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "state.hpp"
#include "unique_fd.hpp"

using namespace cgfence;
using namespace cgfence::oci;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

// As captured from runc 1.1.5 and crun 1.8.1 (FACTS.md §5).
const std::string kRuncCreating =
    R"({"ociVersion":"1.0.2-dev","id":"X","status":"creating","pid":12992,"bundle":"/abs/bundle"})";
const std::string kRuncStopped =
    R"({"ociVersion":"1.0.2-dev","id":"X","status":"stopped","bundle":"/abs/bundle"})";
const std::string kCrunCreated =
    R"({"ociVersion":"1.0","id":"X","pid":13124,"root":"rootfs","bundle":"/abs/bundle","status":"created"})";
const std::string kCrunStopped =
    R"({"ociVersion":"1.0","id":"X","pid":0,"root":"rootfs","bundle":"/abs/bundle","status":"stopped"})";

// The error message parse_state gives for `text`; the test fails if it parses.
std::string state_error(const std::string &text)
{
    auto state = parse_state(text);
    REQUIRE_FALSE(state.ok());
    return state.error().message();
}

// runc's prestart state with member `key` set to `value`.
std::string runc_with(const std::string &key, const Json &value)
{
    Json state = Json::parse(kRuncCreating);
    state[key] = value;
    return state.dump();
}

std::string runc_without(const std::string &key)
{
    Json state = Json::parse(kRuncCreating);
    state.erase(key);
    return state.dump();
}

// A pipe whose write end the test holds; 1 MiB of buffer, so that a test can
// write all of its input before reading.
class Pipe {
  public:
    Pipe()
    {
        int fds[2] = {-1, -1};
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2 failed");
        reader_.reset(fds[0]);
        writer_.reset(fds[1]);
        if (::fcntl(writer_.get(), F_SETPIPE_SZ, 1 << 20) < 0)
            throw std::runtime_error("F_SETPIPE_SZ failed");
    }

    void send(const std::string &data) const
    {
        size_t done = 0;
        while (done < data.size()) {
            const ssize_t written = ::write(writer_.get(), data.data() + done, data.size() - done);
            if (written < 0 && errno == EINTR)
                continue;
            if (written < 0)
                throw std::runtime_error("write to pipe failed");
            done += static_cast<size_t>(written);
        }
    }
    void close_writer() { writer_.reset(); }
    [[nodiscard]] int reader() const { return reader_.get(); }

  private:
    UniqueFd reader_;
    UniqueFd writer_;
};

std::atomic<int> interruptions{0};
void count_interruption(int)
{
    interruptions++;
}

} // namespace

TEST_CASE("runc's prestart state parses")
{
    auto state = parse_state(kRuncCreating);
    REQUIRE(state.ok());
    CHECK(state->oci_version == "1.0.2-dev");
    CHECK(state->id == "X");
    CHECK(state->status == "creating");
    CHECK(state->pid == std::optional<int64_t>(12992));
    CHECK(state->bundle == "/abs/bundle");
    CHECK(state->annotations.empty());
}

TEST_CASE("runc's prestart state carries the config's annotations")
{
    auto state = parse_state(
        R"({"ociVersion":"1.0.2-dev","id":"X","status":"creating","pid":12992,"bundle":"/abs/bundle",)"
        R"("annotations":{"io.cgfence.profile":"strict","org.example":""}})");
    REQUIRE(state.ok());
    CHECK(state->annotations == std::map<std::string, std::string>{{"io.cgfence.profile", "strict"},
                                                                   {"org.example", ""}});
    CHECK(state->pid == std::optional<int64_t>(12992));
}

TEST_CASE("runc's poststop state has no pid")
{
    auto state = parse_state(kRuncStopped);
    REQUIRE(state.ok());
    CHECK(state->status == "stopped");
    CHECK_FALSE(state->pid.has_value());
    CHECK(state->id == "X");
    CHECK(state->bundle == "/abs/bundle");
}

TEST_CASE("crun's prestart state parses, its extra root tolerated")
{
    auto state = parse_state(kCrunCreated);
    REQUIRE(state.ok());
    CHECK(state->oci_version == "1.0");
    CHECK(state->status == "created");
    CHECK(state->pid == std::optional<int64_t>(13124));
    CHECK(state->bundle == "/abs/bundle");
}

TEST_CASE("crun's poststop pid 0 reads as no pid")
{
    auto state = parse_state(kCrunStopped);
    REQUIRE(state.ok());
    CHECK(state->status == "stopped");
    CHECK_FALSE(state->pid.has_value());
}

TEST_CASE("podman's own poststop state parses")
{
    // libpod marshals spec.State itself: no pid (omitempty), the userdata
    // directory as bundle, the container's annotations.
    const std::string id = "3f1c0a6e9b2d4c8e7f5a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e";
    auto state = parse_state(
        R"({"ociVersion":"1.0.2-dev","id":")" + id +
        R"(","status":"stopped","bundle":"/var/lib/containers/storage/overlay-containers/)" + id +
        R"(/userdata","annotations":{"io.container.manager":"libpod",)"
        R"("org.opencontainers.image.stopSignal":"15"}})");
    REQUIRE(state.ok());
    CHECK(state->id == id);
    CHECK(state->status == "stopped");
    CHECK_FALSE(state->pid.has_value());
    CHECK(state->bundle == "/var/lib/containers/storage/overlay-containers/" + id + "/userdata");
    CHECK(state->annotations.at("io.container.manager") == "libpod");
    CHECK(state->annotations.size() == 2);
}

TEST_CASE("empty input is refused")
{
    CHECK(state_error("") == "stdin: empty input");
    CHECK(state_error(" \n\t") == "stdin: empty input");
}

TEST_CASE("truncated JSON is refused with the parser's message on one line")
{
    const std::string message = state_error("{\"ociVersion\":\"1.0.2-dev\",\n\"id\":\"X\"");
    CHECK(message ==
          "stdin: not JSON: parse error at line 2, column 9: syntax error while parsing object - "
          "unexpected end of input; expected '}'");
}

TEST_CASE("text after the state is refused")
{
    CHECK(state_error(kRuncCreating + " {}") ==
          "stdin: not JSON: parse error at line 1, column 92: syntax error while parsing value - "
          "unexpected '{'; expected end of input");
}

TEST_CASE("a JSON value other than an object is refused")
{
    CHECK(state_error("[]") == "stdin: not a JSON object, got array");
    CHECK(state_error("\"X\"") == "stdin: not a JSON object, got string");
    CHECK(state_error("null") == "stdin: not a JSON object, got null");
}

TEST_CASE("each missing required field is named")
{
    for (const char *key : {"ociVersion", "id", "status", "bundle"}) {
        CAPTURE(key);
        CHECK(state_error(runc_without(key)) ==
              "stdin: field \"" + std::string(key) + "\" is missing");
    }
}

TEST_CASE("each required field of the wrong type is named with the type it has")
{
    CHECK(state_error(runc_with("ociVersion", 1)) ==
          R"(stdin: field "ociVersion" must be a string, got number)");
    CHECK(state_error(runc_with("id", nullptr)) ==
          R"(stdin: field "id" must be a string, got null)");
    CHECK(state_error(runc_with("status", true)) ==
          R"(stdin: field "status" must be a string, got boolean)");
    CHECK(state_error(runc_with("bundle", Json::array())) ==
          R"(stdin: field "bundle" must be a string, got array)");
    CHECK(state_error(runc_with("bundle", Json::object())) ==
          R"(stdin: field "bundle" must be a string, got object)");
}

TEST_CASE("a pid that is not an integer is refused")
{
    CHECK(state_error(runc_with("pid", "12992")) ==
          R"(stdin: field "pid" must be an integer, got string)");
    CHECK(state_error(runc_with("pid", 1.5)) ==
          R"(stdin: field "pid" must be an integer, got number)");
    CHECK(state_error(runc_with("pid", true)) ==
          R"(stdin: field "pid" must be an integer, got boolean)");
}

TEST_CASE("a negative pid is refused")
{
    CHECK(state_error(runc_with("pid", -1)) ==
          R"(stdin: field "pid" must not be negative, got -1)");
}

TEST_CASE("a pid beyond pid_t is refused")
{
    CHECK(state_error(runc_with("pid", 4294967296U)) ==
          R"(stdin: field "pid" is out of range, got 4294967296)");
    CHECK(state_error(R"({"ociVersion":"1","id":"X","status":"creating","bundle":"/b",)"
                      R"("pid":18446744073709551615})") ==
          R"(stdin: field "pid" is out of range, got 18446744073709551615)");
    auto largest = parse_state(runc_with("pid", 2147483647));
    REQUIRE(largest.ok());
    CHECK(largest->pid == std::optional<int64_t>(2147483647));
}

TEST_CASE("an id with '/' is refused")
{
    CHECK(state_error(runc_with("id", "../etc")) == R"(stdin: field "id" contains '/')");
    CHECK(state_error(runc_with("id", "a/b")) == R"(stdin: field "id" contains '/')");
}

TEST_CASE("an id with an embedded NUL is refused")
{
    CHECK(state_error(R"({"ociVersion":"1","id":"a\u0000b","status":"creating","bundle":"/b"})") ==
          R"(stdin: field "id" contains a NUL byte)");
}

TEST_CASE("an empty id, '.' and '..' are refused")
{
    CHECK(state_error(runc_with("id", "")) == R"(stdin: field "id" is empty)");
    CHECK(state_error(runc_with("id", ".")) == R"(stdin: field "id" is ".")");
    CHECK(state_error(runc_with("id", "..")) == R"(stdin: field "id" is "..")");
}

TEST_CASE("a relative or empty bundle is refused")
{
    CHECK(state_error(runc_with("bundle", "abs/bundle")) ==
          R"(stdin: field "bundle" must be an absolute path, got "abs/bundle")");
    CHECK(state_error(runc_with("bundle", "")) ==
          R"(stdin: field "bundle" must be an absolute path, got "")");
    CHECK(state_error(R"({"ociVersion":"1","id":"X","status":"creating","bundle":"/b\u0000/c"})") ==
          R"(stdin: field "bundle" contains a NUL byte)");
}

TEST_CASE("an unknown status is refused, naming it on one line")
{
    CHECK(state_error(runc_with("status", "paused")) ==
          R"(stdin: field "status" is "paused", expected creating, created, running or stopped)");
    CHECK(
        state_error(runc_with("status", "run\nning")) ==
        R"(stdin: field "status" is "run\nning", expected creating, created, running or stopped)");
}

TEST_CASE("every status a hook can see is accepted")
{
    for (const char *status : {"creating", "created", "running", "stopped"}) {
        CAPTURE(status);
        auto state = parse_state(runc_with("status", status));
        REQUIRE(state.ok());
        CHECK(state->status == status);
    }
}

TEST_CASE("annotations must be an object of strings")
{
    CHECK(state_error(runc_with("annotations", Json::array())) ==
          R"(stdin: field "annotations" must be an object, got array)");
    CHECK(state_error(runc_with("annotations", "a=b")) ==
          R"(stdin: field "annotations" must be an object, got string)");
    CHECK(state_error(runc_with("annotations", {{"io.a", "x"}, {"io.b", 1}})) ==
          R"(stdin: field "annotations" key "io.b" must be a string, got number)");
}

TEST_CASE("null optional fields read as absent")
{
    Json state = Json::parse(kRuncCreating);
    state["pid"] = nullptr;
    state["annotations"] = nullptr;
    auto parsed = parse_state(state.dump());
    REQUIRE(parsed.ok());
    CHECK_FALSE(parsed->pid.has_value());
    CHECK(parsed->annotations.empty());
}

TEST_CASE("errors name the source they were given")
{
    auto state = parse_state(runc_without("bundle"), "/run/x/state.json");
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().message() == R"(/run/x/state.json: field "bundle" is missing)");
}

TEST_CASE("read_all reads a pipe to its end")
{
    Pipe pipe;
    pipe.send(kRuncCreating);
    pipe.close_writer();
    auto text = read_all(pipe.reader(), 1s, kMaxStateBytes);
    REQUIRE(text.ok());
    CHECK(*text == kRuncCreating);
    auto state = parse_state(*text);
    REQUIRE(state.ok());
    CHECK(state->pid == std::optional<int64_t>(12992));
}

TEST_CASE("read_all of a pipe closed at once gives empty input")
{
    Pipe pipe;
    pipe.close_writer();
    auto text = read_all(pipe.reader(), 1s, kMaxStateBytes);
    REQUIRE(text.ok());
    CHECK(text->empty());
    CHECK(state_error(*text) == "stdin: empty input");
}

TEST_CASE("read_all takes exactly max_bytes and refuses one more")
{
    Pipe exact;
    exact.send(std::string(kMaxStateBytes, 'a'));
    exact.close_writer();
    auto text = read_all(exact.reader(), 1s, kMaxStateBytes);
    REQUIRE(text.ok());
    CHECK(text->size() == kMaxStateBytes);

    Pipe over;
    over.send(std::string(kMaxStateBytes + 1, 'a'));
    over.close_writer();
    auto refused = read_all(over.reader(), 1s, kMaxStateBytes);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().operation == "read");
    CHECK(refused.error().object == "fd " + std::to_string(over.reader()));
    CHECK(refused.error().detail == "input exceeds the limit of 65536 bytes");
}

TEST_CASE("read_all refuses huge input before its end")
{
    Pipe pipe;
    pipe.send(std::string(size_t{512} * 1024, '{'));
    auto refused = read_all(pipe.reader(), 1s, kMaxStateBytes);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().detail == "input exceeds the limit of 65536 bytes");
}

TEST_CASE("read_all gives up when the writer keeps the pipe open")
{
    Pipe pipe;
    pipe.send(R"({"ociVersion":"1.0.2-dev",)");
    const auto start = std::chrono::steady_clock::now();
    auto text = read_all(pipe.reader(), 100ms, kMaxStateBytes);
    const auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().detail == "no end of input within 100 ms (is the writer keeping it open?)");
    CHECK(text.error().errnum == 0);
    CHECK(waited >= 100ms);
    CHECK(waited < 2s);
}

TEST_CASE("read_all names stdin when it reads fd 0")
{
    Pipe pipe;
    pipe.send("abcd");
    pipe.close_writer();
    const UniqueFd saved(::dup(STDIN_FILENO));
    REQUIRE(saved.valid());
    REQUIRE(::dup2(pipe.reader(), STDIN_FILENO) == STDIN_FILENO);
    auto text = read_all(STDIN_FILENO, 1s, 3);
    REQUIRE(::dup2(saved.get(), STDIN_FILENO) == STDIN_FILENO);
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().message() == "read stdin: input exceeds the limit of 3 bytes");
}

TEST_CASE("read_all keeps reading across a signal")
{
    struct sigaction interrupt {};
    interrupt.sa_handler = count_interruption; // no SA_RESTART: poll and read see EINTR
    struct sigaction previous {};
    REQUIRE(::sigaction(SIGUSR1, &interrupt, &previous) == 0);
    interruptions = 0;

    Pipe pipe;
    pipe.send(R"({"ociVersion":"1.0.2-dev","id":"X",)");
    const pthread_t reader = ::pthread_self();
    std::thread writer([&] {
        std::this_thread::sleep_for(50ms);
        ::pthread_kill(reader, SIGUSR1);
        std::this_thread::sleep_for(50ms);
        pipe.send(R"("status":"creating","pid":12992,"bundle":"/abs/bundle"})");
        pipe.close_writer();
    });
    auto text = read_all(pipe.reader(), 5s, kMaxStateBytes);
    writer.join();
    ::sigaction(SIGUSR1, &previous, nullptr);

    CHECK(interruptions == 1);
    REQUIRE(text.ok());
    auto state = parse_state(*text);
    REQUIRE(state.ok());
    CHECK(state->pid == std::optional<int64_t>(12992));
}
