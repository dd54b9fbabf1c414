#include "programs.hpp"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

#include "empty_bpf.skel.h"
#include "built.hpp"
#include "sandbox.hpp"

namespace fs = std::filesystem;

namespace cgfence::bench {

namespace {

// Trampolines are patched in as links come and go; a short pause lets the
// kernel's deferred frees and grace periods finish before timing starts.
void settle()
{
    ::usleep(100000);
}

} // namespace

CgfencePrograms::CgfencePrograms(const std::string &pin_dir) : pins_{pin_dir}
{
    attach();
    count_ = count_pins(pins_.links());
    if (count_ == 0)
        throw std::runtime_error("no links pinned in " + pins_.links().string());
    detach();
}

CgfencePrograms::~CgfencePrograms()
{
    test::run_program(
        {test::cgfencectl_path(), "--pin-dir", pins_.root.string(), "unload", "--force"}, true);
}

void CgfencePrograms::attach()
{
    if (attached_)
        return;
    if (test::run_program({test::cgfencectl_path(), "--pin-dir", pins_.root.string(), "load"},
                          true) != 0)
        throw std::runtime_error("cgfencectl load failed");
    attached_ = true;
    settle();
}

void CgfencePrograms::detach()
{
    if (!attached_)
        return;
    std::error_code ec;
    for (auto it = fs::directory_iterator(pins_.links(), ec); !ec && it != fs::directory_iterator();
         ++it)
        fs::remove(it->path());
    if (ec || count_pins(pins_.links()) != 0)
        throw std::runtime_error("unpin the links in " + pins_.links().string());
    attached_ = false;
    settle();
}

EmptyPrograms::~EmptyPrograms()
{
    detach();
}

void EmptyPrograms::attach()
{
    if (skel_)
        return;
    skel_ = empty_bpf__open_and_load();
    if (!skel_)
        throw std::runtime_error("load empty.bpf.o: " + std::string(std::strerror(errno)));
    if (empty_bpf__attach(skel_) != 0) {
        const int error = errno;
        detach();
        throw std::runtime_error("attach empty.bpf.o: " + std::string(std::strerror(error)));
    }
    settle();
}

void EmptyPrograms::detach()
{
    if (!skel_)
        return;
    empty_bpf__destroy(skel_);
    skel_ = nullptr;
    settle();
}

} // namespace cgfence::bench
