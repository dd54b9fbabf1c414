#!/usr/bin/env bash
# Style and static checks: clang-format (no diff) and clang-tidy (no finding)
# over every tracked C and C++ source. One PASS/FAIL line each.
#   tests/lint.sh BUILD_DIR    (needs compile_commands.json there)
# clang-tidy skips a unit whose exact input passed before (tests/tidy.py):
# CGFENCE_TIDY_CACHE (default /var/cache/cgfence/tidy; empty: none).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cd "$root"

mapfile -t sources < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')
if clang-format --dry-run --Werror "${sources[@]}" >/tmp/cgfence-format.log 2>&1; then
  echo "PASS lint/clang-format"
else
  head -n 40 /tmp/cgfence-format.log
  echo "FAIL lint/clang-format: run clang-format -i on the files above"
fi

mapfile -t units < <(git ls-files 'bpf/*.cpp' 'hook/*.cpp' 'oci/*.cpp' 'tests/*.cpp')
if python3 "$root/tests/tidy.py" "$build" "${CGFENCE_TIDY_CACHE-/var/cache/cgfence/tidy}" \
  "${units[@]}" >/tmp/cgfence-tidy.log 2>&1; then
  echo "PASS lint/clang-tidy"
else
  head -n 40 /tmp/cgfence-tidy.log
  echo "FAIL lint/clang-tidy"
fi
