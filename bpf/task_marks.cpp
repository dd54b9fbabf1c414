#include "task_marks.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

#include "abi.hpp"
#include "unique_fd.hpp"

namespace cgfence {

Status shape_marks_map(bpf_map *marks, MarkStore store)
{
    if (store == MarkStore::task_storage)
        return {};
    if (bpf_map__set_type(marks, BPF_MAP_TYPE_HASH) != 0 ||
        bpf_map__set_key_size(marks, sizeof(uint64_t)) != 0 ||
        bpf_map__set_max_entries(marks, CGFENCE_MAX_MARKED_TASKS) != 0)
        return system_error("shape map", "marks");
    return {};
}

Status create_marks_hash(bpf_map *marks)
{
    // LIBBPF_OPTS is a GNU statement expression: not in pedantic C++.
    bpf_map_create_opts options{};
    options.sz = sizeof(options);
    options.map_flags = bpf_map__map_flags(marks);
    UniqueFd fd(bpf_map_create(bpf_map__type(marks), bpf_map__name(marks), bpf_map__key_size(marks),
                               bpf_map__value_size(marks), bpf_map__max_entries(marks), &options));
    if (!fd)
        return system_error("create map", "marks");
    if (bpf_map__reuse_fd(marks, fd.get()) != 0)
        return system_error("use map", "marks");
    return {};
}

Result<RunningMarks> mark_running_tasks(bpf_program *iterator)
{
    std::unique_ptr<bpf_link, decltype(&bpf_link__destroy)> link(
        bpf_program__attach_iter(iterator, nullptr), bpf_link__destroy);
    if (!link)
        return system_error("attach iterator", bpf_program__name(iterator));
    UniqueFd lines(bpf_iter_create(bpf_link__fd(link.get())));
    if (!lines)
        return system_error("run iterator", bpf_program__name(iterator));
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(lines.get(), buffer, sizeof(buffer))) != 0;) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return system_error("read iterator", bpf_program__name(iterator));
        }
        text.append(buffer, static_cast<size_t>(n));
    }
    RunningMarks found;
    std::istringstream in(text);
    for (std::string word, rest; in >> word && std::getline(in, rest);)
        (word == "marked" ? found.marked : found.unmarked)++;
    return found;
}

} // namespace cgfence
