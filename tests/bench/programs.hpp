// The BPF programs a benchmark state runs under, attached and detached
// between measurements of one boot: cgfence's own programs (loaded by
// `cgfencectl load`, so exactly what a user runs) and the empty floor.
#pragma once

#include <filesystem>
#include <string>

#include "pins.hpp"

struct empty_bpf;

namespace cgfence::bench {

// cgfence in its own pin directory, loaded by `cgfencectl load`, exactly as
// a user runs it. Every attach() is such a load (5.10 cannot attach an LSM
// program again once its first link is gone, so each attach loads the
// programs afresh; the pinned maps, and the containers in them, stay);
// detach() unpins the links. Unloads (every pin) at the end.
class CgfencePrograms {
  public:
    explicit CgfencePrograms(const std::string &pin_dir); // loaded, then detached
    CgfencePrograms(const CgfencePrograms &) = delete;
    CgfencePrograms &operator=(const CgfencePrograms &) = delete;
    ~CgfencePrograms();

    void attach();
    void detach();
    [[nodiscard]] const PinLayout &pins() const { return pins_; }
    // The programs attached on this kernel.
    [[nodiscard]] size_t count() const { return count_; }

  private:
    PinLayout pins_;
    size_t count_ = 0;
    bool attached_ = false;
};

// The empty programs of empty.bpf.c (state f), loaded and attached afresh by
// every attach() for the same reason, destroyed by detach().
class EmptyPrograms {
  public:
    EmptyPrograms() = default;
    EmptyPrograms(const EmptyPrograms &) = delete;
    EmptyPrograms &operator=(const EmptyPrograms &) = delete;
    ~EmptyPrograms();

    void attach();
    void detach();

  private:
    empty_bpf *skel_ = nullptr;
};

} // namespace cgfence::bench
