// Aligned columns for people: each column as wide as its widest cell.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace cgfence::ctl {

class Table {
  public:
    // Headers ending in '>' are right-aligned (numbers); the '>' is not shown.
    explicit Table(std::vector<std::string> headers);

    void add_row(std::vector<std::string> cells);
    void print(std::FILE *out) const;

  private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

} // namespace cgfence::ctl
