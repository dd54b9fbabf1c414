#include "programs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

#include "empty_bpf.skel.h"
#include "sandbox.hpp"

namespace fs = std::filesystem;

namespace cgfence::bench {

namespace {

std::string cgfencectl()
{
    return std::string(CGFENCE_BIN_DIR) + "/cgfencectl";
}

// An LSM link on `program`. raw_tracepoint_open, not link_create: the one
// that attaches LSM programs on every kernel from 5.10 on.
UniqueFd attach_lsm(int program)
{
    int fd = bpf_raw_tracepoint_open(nullptr, program);
    if (fd < 0)
        throw std::runtime_error(std::string("attach LSM program: ") + std::strerror(errno));
    return UniqueFd(fd);
}

// Trampolines are patched in as links come and go; a short pause lets the
// kernel's deferred frees and grace periods finish before timing starts.
void settle()
{
    ::usleep(100000);
}

} // namespace

CgfencePrograms::CgfencePrograms(const std::string &pin_dir) : pins_{pin_dir}
{
    if (test::run_program({cgfencectl(), "--pin-dir", pin_dir, "load"}, true) != 0)
        throw std::runtime_error("cgfencectl load failed");
    std::error_code ec;
    for (auto it = fs::directory_iterator(pins_.progs(), ec); !ec && it != fs::directory_iterator();
         ++it) {
        UniqueFd program(bpf_obj_get(it->path().c_str()));
        if (!program)
            throw std::runtime_error("open " + it->path().string());
        programs_.push_back(std::move(program));
    }
    if (ec || programs_.empty())
        throw std::runtime_error("no programs pinned in " + pins_.progs().string());
    // The programs stay loaded through their pins; only attachment goes.
    for (auto it = fs::directory_iterator(pins_.links(), ec); !ec && it != fs::directory_iterator();
         ++it)
        fs::remove(it->path());
    settle();
}

CgfencePrograms::~CgfencePrograms()
{
    links_.clear();
    programs_.clear();
    test::run_program({cgfencectl(), "--pin-dir", pins_.root.string(), "unload", "--force"}, true);
}

void CgfencePrograms::attach()
{
    if (!links_.empty())
        return;
    for (const auto &program : programs_)
        links_.push_back(attach_lsm(program.get()));
    settle();
}

void CgfencePrograms::detach()
{
    if (links_.empty())
        return;
    links_.clear();
    settle();
}

EmptyPrograms::EmptyPrograms() : skel_(empty_bpf__open())
{
    if (!skel_)
        throw std::runtime_error("open empty.bpf.o: " + std::string(std::strerror(errno)));
    if (empty_bpf__load(skel_) != 0) {
        const int error = errno;
        empty_bpf__destroy(skel_);
        throw std::runtime_error("load empty.bpf.o: " + std::string(std::strerror(error)));
    }
}

EmptyPrograms::~EmptyPrograms()
{
    links_.clear();
    empty_bpf__destroy(skel_);
}

void EmptyPrograms::attach()
{
    if (!links_.empty())
        return;
    for (bpf_program *p : {skel_->progs.empty_file_open, skel_->progs.empty_bprm_check,
                           skel_->progs.empty_mmap_file})
        links_.push_back(attach_lsm(bpf_program__fd(p)));
    settle();
}

void EmptyPrograms::detach()
{
    if (links_.empty())
        return;
    links_.clear();
    settle();
}

} // namespace cgfence::bench
