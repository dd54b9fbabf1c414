#include "libbpf_log.hpp"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "log.hpp"

namespace cgfence::libbpf_log {
namespace {

constexpr size_t kKeptBytes = size_t{64} * 1024;
std::string kept;

int print(enum libbpf_print_level level, const char *format, va_list args)
{
    // Whole messages: a verifier's log is one message, and its end says why.
    char *formatted = nullptr;
    const int length = ::vasprintf(&formatted, format, args);
    if (length < 0)
        return 0; // nothing was allocated
    const std::unique_ptr<char, decltype(&std::free)> owned(formatted, &std::free);
    std::string text(formatted, static_cast<size_t>(length));
    kept += text;
    if (kept.size() > kKeptBytes)
        kept.erase(0, kept.size() - kKeptBytes);
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    if (level != LIBBPF_DEBUG || log::enabled(log::Level::debug))
        log::debug("libbpf: " + text);
    return length;
}

} // namespace

void install()
{
    libbpf_set_print(print);
}

std::string take()
{
    std::string out;
    out.swap(kept);
    return out;
}

} // namespace cgfence::libbpf_log
