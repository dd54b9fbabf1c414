// The loader's part in the tasks' marks: the map that holds them, shaped for
// the kernel's mark store, and the marking of tasks that exec'd in a
// registered container while no program was attached.
#pragma once

#include <cstddef>

#include "error.hpp"
#include "kernel_features.hpp"

struct bpf_map;
struct bpf_program;

namespace cgfence {

// Shapes the object's `marks` map for `store`, before pinned maps are
// compared with it. The object declares task storage; for the hash the shape
// is set here (a task's address to its mark, CGFENCE_MAX_MARKED_TASKS
// entries, allocated as used).
Status shape_marks_map(bpf_map *marks, MarkStore store);

// Creates the hash `marks` was shaped as and gives it to libbpf: its key has
// no BTF type in the object, so libbpf cannot create it itself.
Status create_marks_hash(bpf_map *marks);

struct RunningMarks {
    size_t marked = 0;   // tasks marked now
    size_t unmarked = 0; // tasks the marks map had no room for: unconfined
};

// Runs the loaded `iterator` (cgfence_mark_running) once over every task.
Result<RunningMarks> mark_running_tasks(bpf_program *iterator);

} // namespace cgfence
