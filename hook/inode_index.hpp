// Paths of a container's objects by (dev, ino), as its view names them: what
// turns learn mode's records into paths when `profile learn` reads them, so
// the kernel never builds a path. Each mount holding a wanted device is walked
// within itself, from the container's root, without following symlinks.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "container_view.hpp"
#include "error.hpp"

namespace cgfence {

struct IndexedObject {
    std::string path; // absolute, in the container's view (the first found)
    bool is_dir = false;
};

class InodeIndex {
  public:
    // Indexes every object of the view's mounts whose kernel dev is in `devs`.
    static Result<InodeIndex> build(const ContainerView &view, const std::set<uint32_t> &devs);

    [[nodiscard]] const IndexedObject *find(uint32_t dev, uint64_t ino) const;
    // How many entries each directory walked holds.
    [[nodiscard]] const std::map<std::string, size_t> &entries() const { return entries_; }
    // Was the walk cut at its bounds (objects, levels)?
    [[nodiscard]] bool cut() const { return cut_; }

  private:
    Status walk(int dir, const std::string &path, uint64_t mount_id, uint32_t dev, int levels);
    void add(uint32_t dev, uint64_t ino, const std::string &path, bool is_dir);

    std::map<std::pair<uint32_t, uint64_t>, IndexedObject> objects_;
    std::map<std::string, size_t> entries_;
    bool cut_ = false;
};

} // namespace cgfence
