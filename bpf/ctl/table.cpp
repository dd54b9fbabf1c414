#include "table.hpp"

#include <algorithm>

namespace cgfence::ctl {

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers))
{
    for (auto &header : headers_) {
        const bool right = !header.empty() && header.back() == '>';
        if (right)
            header.pop_back();
        right_.push_back(right);
    }
}

void Table::add_row(std::vector<std::string> cells)
{
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void Table::print(std::FILE *out) const
{
    std::vector<size_t> widths;
    for (const auto &header : headers_)
        widths.push_back(header.size());
    for (const auto &row : rows_)
        for (size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    auto print_row = [&](const std::vector<std::string> &cells) {
        std::string line;
        for (size_t i = 0; i < cells.size(); ++i) {
            const std::string padding(widths[i] - cells[i].size(), ' ');
            const bool last = i + 1 == cells.size();
            line += right_[i] ? padding + cells[i] : cells[i] + (last ? "" : padding);
            if (!last)
                line += "  ";
        }
        std::fprintf(out, "%s\n", line.c_str());
    };
    print_row(headers_);
    for (const auto &row : rows_)
        print_row(row);
}

} // namespace cgfence::ctl
