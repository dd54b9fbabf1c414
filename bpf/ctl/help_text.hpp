// The --help footers every cgfencectl command shares.
#pragma once

#include <string>
#include <string_view>

namespace cgfence::ctl {

// The footer of one command: its examples and notes, then the global
// options and the exit codes (the same on every command).
std::string help_footer(std::string_view examples);

} // namespace cgfence::ctl
