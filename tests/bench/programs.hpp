// The BPF programs a benchmark state runs under, attached and detached
// between measurements of one boot: cgfence's own programs (loaded by
// `cgfencectl load`, so exactly what a user runs) and the empty floor.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pins.hpp"
#include "unique_fd.hpp"

struct empty_bpf;

namespace cgfence::bench {

// cgfence loaded into its own pin directory. Its pinned links are dropped at
// once: attachment is then ours to switch, by links this object holds on the
// pinned programs. Unloads (every pin) at the end.
class CgfencePrograms {
  public:
    explicit CgfencePrograms(const std::string &pin_dir);
    CgfencePrograms(const CgfencePrograms &) = delete;
    CgfencePrograms &operator=(const CgfencePrograms &) = delete;
    ~CgfencePrograms();

    void attach();
    void detach();
    [[nodiscard]] const PinLayout &pins() const { return pins_; }
    [[nodiscard]] size_t count() const { return programs_.size(); }

  private:
    PinLayout pins_;
    std::vector<UniqueFd> programs_;
    std::vector<UniqueFd> links_;
};

// The empty programs of empty.bpf.c: state f.
class EmptyPrograms {
  public:
    EmptyPrograms();
    EmptyPrograms(const EmptyPrograms &) = delete;
    EmptyPrograms &operator=(const EmptyPrograms &) = delete;
    ~EmptyPrograms();

    void attach();
    void detach();

  private:
    empty_bpf *skel_ = nullptr;
    std::vector<UniqueFd> links_;
};

} // namespace cgfence::bench
