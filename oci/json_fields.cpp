#include "json_fields.hpp"

#include <utility>

namespace cgfence::oci {
namespace {

// nlohmann's non-throwing parse() only says that text is not JSON; a second,
// SAX pass over the same text recovers the parser's message.
struct ParseErrorCatcher {
    std::string message;

    bool null() { return true; }
    bool boolean(bool) { return true; }
    bool number_integer(Json::number_integer_t) { return true; }
    bool number_unsigned(Json::number_unsigned_t) { return true; }
    bool number_float(Json::number_float_t, const std::string &) { return true; }
    bool string(std::string &) { return true; }
    bool binary(Json::binary_t &) { return true; }
    bool start_object(size_t) { return true; }
    bool key(std::string &) { return true; }
    bool end_object() { return true; }
    bool start_array(size_t) { return true; }
    bool end_array() { return true; }
    bool parse_error(size_t, const std::string &, const Json::exception &error)
    {
        message = error.what();
        return false;
    }
};

// The parser's message without its "[json.exception.parse_error.101] " tag.
std::string parser_message(const std::string &text)
{
    ParseErrorCatcher catcher;
    Json::sax_parse(text, &catcher);
    const size_t tag_end = catcher.message.find("] ");
    return tag_end == std::string::npos ? catcher.message : catcher.message.substr(tag_end + 2);
}

bool has_type(const Json &value, Json::value_t type)
{
    // An integer is signed or unsigned to nlohmann, by its sign.
    if (type == Json::value_t::number_integer)
        return value.is_number_integer();
    return value.type() == type;
}

std::string type_description(Json::value_t type)
{
    switch (type) {
    case Json::value_t::string:
        return "a string";
    case Json::value_t::object:
        return "an object";
    case Json::value_t::array:
        return "an array";
    case Json::value_t::boolean:
        return "a boolean";
    case Json::value_t::number_integer:
        return "an integer";
    default:
        return Json(type).type_name();
    }
}

// "must be a string, got number"
std::string type_problem(Json::value_t expected, const Json &got)
{
    return "must be " + type_description(expected) + ", got " + got.type_name();
}

} // namespace

Error source_error(const std::string &source, const std::string &what)
{
    // The source in `operation` and no object: message() reads "<source>: <what>".
    return logic_error(source, {}, what);
}

std::string quoted(const std::string &value)
{
    return Json(value).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string element_name(const std::string &field, size_t index)
{
    return field + "[" + std::to_string(index) + "]";
}

Result<Json> parse_object(const std::string &text, const std::string &source)
{
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        return source_error(source, "empty input");
    Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded())
        return source_error(source, "not JSON: " + parser_message(text));
    if (!json.is_object())
        return source_error(source, std::string("not a JSON object, got ") + json.type_name());
    return json;
}

Fields::Fields(const Json &object, std::string source, std::string path)
    : object_(object), source_(std::move(source)), path_(std::move(path))
{
}

std::string Fields::name(const std::string &key) const
{
    return path_.empty() ? key : path_ + "." + key;
}

Error Fields::error(const std::string &field, const std::string &problem) const
{
    return source_error(source_, "field " + quoted(field) + " " + problem);
}

Error Fields::wrong_type(const std::string &field, Json::value_t expected, const Json &got) const
{
    return error(field, type_problem(expected, got));
}

Result<const Json *> Fields::member(const std::string &key, Json::value_t type, bool required) const
{
    const auto found = object_.find(key);
    const bool absent = found == object_.end() || found->is_null();
    if (absent && !required)
        return nullptr;
    if (found == object_.end())
        return error(name(key), "is missing");
    if (!has_type(*found, type))
        return wrong_type(name(key), type, *found);
    return &*found;
}

Fields Fields::nested(const Json &object, const std::string &field) const
{
    return Fields(object, source_, field);
}

Status Fields::required(const std::string &key, std::string &out) const
{
    auto value = member(key, Json::value_t::string, true);
    if (!value)
        return value.error();
    out = value.value()->get<std::string>();
    return {};
}

Status Fields::optional(const std::string &key, std::string &out) const
{
    auto value = member(key, Json::value_t::string, false);
    if (!value)
        return value.error();
    if (*value != nullptr)
        out = value.value()->get<std::string>();
    return {};
}

Status Fields::optional(const std::string &key, bool &out) const
{
    auto value = member(key, Json::value_t::boolean, false);
    if (!value)
        return value.error();
    if (*value != nullptr)
        out = value.value()->get<bool>();
    return {};
}

Status Fields::optional(const std::string &key, std::map<std::string, std::string> &out) const
{
    auto value = member(key, Json::value_t::object, false);
    if (!value)
        return value.error();
    if (*value == nullptr)
        return {};
    std::map<std::string, std::string> entries;
    for (const auto &item : value.value()->items()) {
        if (!item.value().is_string())
            return error(name(key), "key " + quoted(item.key()) + " " +
                                        type_problem(Json::value_t::string, item.value()));
        entries.emplace(item.key(), item.value().get<std::string>());
    }
    out = std::move(entries);
    return {};
}

Status Fields::optional(const std::string &key, std::vector<std::string> &out) const
{
    auto value = member(key, Json::value_t::array, false);
    if (!value)
        return value.error();
    if (*value == nullptr)
        return {};
    const Json &array = **value;
    std::vector<std::string> strings;
    strings.reserve(array.size());
    for (size_t i = 0; i < array.size(); i++) {
        if (!array[i].is_string())
            return wrong_type(element_name(name(key), i), Json::value_t::string, array[i]);
        strings.push_back(array[i].get<std::string>());
    }
    out = std::move(strings);
    return {};
}

Status Fields::no_nul(const std::string &key, const std::string &value) const
{
    if (value.find('\0') != std::string::npos)
        return error(name(key), "contains a NUL byte");
    return {};
}

} // namespace cgfence::oci
