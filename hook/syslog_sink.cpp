#include "syslog_sink.hpp"

#include <cstdio>
#include <sys/stat.h>
#include <syslog.h>

namespace cgfence {
namespace {

int priority(log::Level level)
{
    switch (level) {
    case log::Level::debug:
        return LOG_DEBUG;
    case log::Level::info:
        return LOG_INFO;
    case log::Level::warning:
        return LOG_WARNING;
    case log::Level::error:
        return LOG_ERR;
    }
    return LOG_INFO;
}

bool syslog_available()
{
    struct stat info {};
    return ::stat("/dev/log", &info) == 0 && S_ISSOCK(info.st_mode);
}

} // namespace

log::Sink hook_log_sink(bool debug)
{
    const bool to_syslog = syslog_available();
    if (to_syslog)
        ::openlog("cgfence-hook", LOG_PID, LOG_DAEMON);
    return [to_syslog, debug](log::Level level, const std::string &message) {
        if (to_syslog)
            ::syslog(priority(level), "%s", message.c_str());
        if (!to_syslog || debug || level == log::Level::error)
            std::fprintf(stderr, "cgfence-hook: %s%s\n",
                         level == log::Level::error     ? "error: "
                         : level == log::Level::warning ? "warning: "
                                                        : "",
                         message.c_str());
    };
}

} // namespace cgfence
