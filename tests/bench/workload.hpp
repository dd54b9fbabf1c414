// The timed work of one measurement, done by a child process moved into a
// cgroup first (as a container's process would be): N open()+close() of one
// file, or a chain of M execve of a static binary.
#pragma once

#include <string>

#include "sandbox.hpp"

namespace cgfence::bench {

enum class Expect { allow, deny };

// Nanoseconds per operation, measured in a process of `cgroup`. Throws when
// any operation did not end as `expect` says: a benchmark of the wrong
// outcome would measure something else.
double time_opens(const test::TestCgroup &cgroup, const std::string &path, Expect expect,
                  long iterations);
double time_execs(const test::TestCgroup &cgroup, const std::string &path, Expect expect,
                  long execs);

} // namespace cgfence::bench
