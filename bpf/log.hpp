// Leveled logging for the tools: one sink, set once by the executable
// (stderr for cgfencectl; syslog or stderr for the hook).
#pragma once

#include <functional>
#include <string>

namespace cgfence::log {

enum class Level { debug, info, warning, error };

using Sink = std::function<void(Level, const std::string &)>;

// Where messages at `threshold` and above go. The default: stderr, info.
void configure(Level threshold, Sink sink = {});
[[nodiscard]] bool enabled(Level level);
void write(Level level, const std::string &message);

inline void debug(const std::string &message)
{
    write(Level::debug, message);
}
inline void info(const std::string &message)
{
    write(Level::info, message);
}
inline void warning(const std::string &message)
{
    write(Level::warning, message);
}
inline void error(const std::string &message)
{
    write(Level::error, message);
}

} // namespace cgfence::log
