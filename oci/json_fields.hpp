// Typed reading of the JSON objects a hook is given (the OCI state, a
// bundle's config.json): every error is one line naming the source and the
// field's path ("mounts[2].destination"), and nothing throws (each value's
// type is checked before it is read).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"

namespace cgfence::oci {

using Json = nlohmann::json;

// "<source>: <what>": the form of every state and config error.
Error source_error(const std::string &source, const std::string &what);

// `value` as a JSON string literal, escaped, so that an error stays one line.
std::string quoted(const std::string &value);

// The path of an array's element: "field[index]".
std::string element_name(const std::string &field, size_t index);

// `text` as one JSON object. Empty input, text that is not JSON (with the
// parser's message) and JSON values other than objects are errors.
Result<Json> parse_object(const std::string &text, const std::string &source);

// The members of one JSON object, read by type. Unknown members are ignored.
// A member that is null counts as absent, as the Go runtimes read it.
class Fields {
  public:
    // `object` (a JSON object) must outlive this; `path` is its own field
    // path, empty at the top level.
    Fields(const Json &object, std::string source, std::string path = {});

    // The path of member `key`: "key", or "path.key" in a nested object.
    [[nodiscard]] std::string name(const std::string &key) const;

    // `<source>: field "<field>" <problem>`
    [[nodiscard]] Error error(const std::string &field, const std::string &problem) const;

    // `<source>: field "<field>" must be <expected>, got <got's type>`
    [[nodiscard]] Error wrong_type(const std::string &field, Json::value_t expected,
                                   const Json &got) const;

    // Member `key` when it has `type` (number_integer: any integer); nullptr
    // when it is absent and not `required`.
    [[nodiscard]] Result<const Json *> member(const std::string &key, Json::value_t type,
                                              bool required) const;

    // A nested object's fields, for a member already checked to be an object.
    [[nodiscard]] Fields nested(const Json &object, const std::string &field) const;

    // Each leaves `out` unchanged when an optional member is absent.
    Status required(const std::string &key, std::string &out) const;
    Status optional(const std::string &key, std::string &out) const;
    Status optional(const std::string &key, bool &out) const;
    Status optional(const std::string &key, std::map<std::string, std::string> &out) const;
    Status optional(const std::string &key, std::vector<std::string> &out) const;

    // An error when `value` (member `key`'s) holds a NUL byte: it would cut a
    // path short at the first system call.
    [[nodiscard]] Status no_nul(const std::string &key, const std::string &value) const;

  private:
    const Json &object_;
    std::string source_;
    std::string path_;
};

} // namespace cgfence::oci
