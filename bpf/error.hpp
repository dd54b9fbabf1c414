// Errors as values: what failed ({operation, object, errno}) and why.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace cgfence {

struct Error {
    std::string operation; // e.g. "open pinned map"
    std::string object;    // e.g. "/sys/fs/bpf/cgfence/maps/policies"
    int errnum = 0;        // errno, or 0 when the cause is not a system error
    std::string detail;    // what to do about it, or what was expected

    // "operation object: strerror (detail)"
    [[nodiscard]] std::string message() const;
};

inline Error system_error(std::string operation, std::string object, int errnum = errno)
{
    return Error{std::move(operation), std::move(object), errnum, {}};
}

inline Error logic_error(std::string operation, std::string object, std::string detail)
{
    return Error{std::move(operation), std::move(object), 0, std::move(detail)};
}

// A value or the Error that kept it from being made.
template <typename T> class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    [[nodiscard]] bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T &value() & { return std::get<0>(state_); }
    const T &value() const & { return std::get<0>(state_); }
    T &&value() && { return std::get<0>(std::move(state_)); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    [[nodiscard]] const Error &error() const { return std::get<1>(state_); }

  private:
    std::variant<T, Error> state_;
};

// Success, or the Error.
template <> class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    [[nodiscard]] bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    [[nodiscard]] const Error &error() const { return error_; }

  private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

} // namespace cgfence
