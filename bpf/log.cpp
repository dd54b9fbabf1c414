#include "log.hpp"

#include <cstdio>

namespace cgfence::log {
namespace {

Level current_threshold = Level::info;
Sink current_sink;

const char *prefix(Level level)
{
    switch (level) {
    case Level::debug:
        return "debug: ";
    case Level::info:
        return "";
    case Level::warning:
        return "warning: ";
    case Level::error:
        return "error: ";
    }
    return "";
}

} // namespace

void configure(Level threshold, Sink sink)
{
    current_threshold = threshold;
    current_sink = std::move(sink);
}

bool enabled(Level level)
{
    return level >= current_threshold;
}

void write(Level level, const std::string &message)
{
    if (!enabled(level))
        return;
    if (current_sink) {
        current_sink(level, message);
        return;
    }
    std::fprintf(stderr, "%s%s\n", prefix(level), message.c_str());
}

} // namespace cgfence::log
