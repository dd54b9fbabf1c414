#include "error.hpp"

#include <cstring>

namespace cgfence {

std::string Error::message() const
{
    std::string text = operation;
    if (!object.empty())
        text += " " + object;
    if (errnum != 0)
        text += ": " + std::string(std::strerror(errnum));
    if (!detail.empty())
        text += (errnum != 0 ? " (" + detail + ")" : ": " + detail);
    return text;
}

} // namespace cgfence
