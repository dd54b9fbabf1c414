#include "help_text.hpp"

namespace cgfence::ctl {

std::string help_footer(std::string_view examples)
{
    std::string text(examples);
    if (!text.empty() && text.back() != '\n')
        text += '\n';
    text += "Global options, before or after the command: --pin-dir DIR (default "
            "/sys/fs/bpf/cgfence), --json, --debug.\n"
            "Exit codes: 0 ok, 1 failed, 2 usage, 3 BPF LSM not supported by this kernel, "
            "4 refused.\nSee cgfencectl(8).";
    return text;
}

} // namespace cgfence::ctl
