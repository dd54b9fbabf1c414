#!/usr/bin/env bash
# Builds cgfence and runs every suite: the host unit and integration suites,
# then the VM suites on each kernel of the matrix (one boot per kernel runs
# every VM suite). Each test prints one line, PASS, FAIL or SKIP (with why);
# a timing table follows, and the last line is the count:
# "N passed, N failed, N skipped".
#
#   tests/run.sh                      everything
#   CGFENCE_KERNELS="6.1" tests/run.sh  one kernel of the matrix
#   CGFENCE_VM=0 tests/run.sh         host suites only (the VM suites count as skipped)
#   CGFENCE_VM_LANES=1 tests/run.sh   one guest at a time (default: two)
#
# Phases: dependencies; the build (both cores); the host suites, while the
# ASan and fuzz builds run behind them on one core; the VM guests, two at a
# time; the ASan and fuzz suites; the table.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CGFENCE_BUILD_DIR:-$root/build}
kernels=${CGFENCE_KERNELS:-"5.10 6.1 6.12 latest"}
logs=$(mktemp -d /tmp/cgfence-run.XXXXXX)
passed=0 failed=0 skipped=0
started=$SECONDS
timings=() # "suite tests seconds", for the table

count() { # count FILE: adds its PASS/FAIL/SKIP lines to the totals
  local p f s
  p=$(grep -c '^PASS ' "$1") f=$(grep -c '^FAIL ' "$1") s=$(grep -c '^SKIP ' "$1")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# run_suite NAME COMMAND...: runs a suite, shows its lines, counts them. A
# suite that fails without saying which test failed counts as one failure.
run_suite() {
  local name=$1 log=$logs/$1.log status begun=$SECONDS
  shift
  echo "== $name"
  CGFENCE_SUITE_PREFIX=$name "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  count "$log"
  timings+=("$name $(grep -cE '^(PASS|FAIL|SKIP) ' "$log") $((SECONDS - begun))")
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL $name: exited with status $status"
    failed=$((failed + 1))
  fi
}

print_timings() {
  echo "== timing"
  printf '%-28s %6s %8s\n' suite tests seconds
  local row
  for row in "${timings[@]}"; do
    # shellcheck disable=SC2086 # the row is three words
    printf '%-28s %6s %8s\n' $row
  done
  printf 'whole run: %d min %d s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60))
}

finish() {
  [[ -n ${builds_pid:-} ]] && kill "$builds_pid" 2>/dev/null
  print_timings
  echo "logs: $logs"
  echo "$passed passed, $failed failed, $skipped skipped"
  ((failed == 0))
  exit
}

if [[ ${CGFENCE_SKIP_DEPS:-0} != 1 ]]; then
  bash "$root/tests/install-deps.sh" || { echo "FAIL install-deps"; failed=1; finish; }
fi

echo "== build ($build)"
begun=$SECONDS
if ! { cmake -S "$root" -B "$build" -DCGFENCE_WERROR=ON >"$logs/configure.log" 2>&1 &&
  cmake --build "$build" -j"$(nproc)" >"$logs/build.log" 2>&1; }; then
  tail -n 40 "$logs/configure.log" "$logs/build.log"
  echo "FAIL build"
  failed=1
  finish
fi
timings+=("build - $((SECONDS - begun))")

# The unit, oci and host suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer (binaries they run included), and the libFuzzer
# targets (tests/fuzz) built with clang: one chain in the background, on one
# core, while the host suites run. Each build leaves its exit status in
# $logs/NAME-build.status; their suites run at the end.
asan_build=${CGFENCE_ASAN_BUILD_DIR:-$root/build-asan}
fuzz_build=${CGFENCE_FUZZ_BUILD_DIR:-$root/build-fuzz}
build_step() { # build_step NAME COMMAND...: runs it, logs it, records its status
  local name=$1
  shift
  "$@" >>"$logs/$name-build.log" 2>&1
  echo $? >"$logs/$name-build.status"
}
asan_build() {
  cmake -S "$root" -B "$asan_build" -DCGFENCE_SANITIZE=ON -DCGFENCE_WERROR=ON &&
    cmake --build "$asan_build" -j1 --target cgfence-unit-tests cgfence-oci-tests cgfence-host-tests
}
fuzz_build() {
  cmake -S "$root" -B "$fuzz_build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCGFENCE_FUZZ=ON -DCGFENCE_BUILD_TESTS=OFF -DCGFENCE_WERROR=ON &&
    cmake --build "$fuzz_build" -j1 --target cgfence-fuzzers
}
(build_step asan asan_build; build_step fuzz fuzz_build) &
builds_pid=$!
built() { # built NAME: whether the background build NAME succeeded (says why not)
  local status
  status=$(cat "$logs/$1-build.status" 2>/dev/null || echo "never finished")
  [[ $status == 0 ]] && return 0
  tail -n 40 "$logs/$1-build.log"
  echo "FAIL $1 build: $status"
  failed=$((failed + 1))
  return 1
}
run_background_suites() {
  wait "$builds_pid" 2>/dev/null
  builds_pid=
  if built asan; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_suite asan-unit "$asan_build/bin/cgfence-unit-tests"
    run_suite asan-oci "$asan_build/bin/cgfence-oci-tests"
    run_suite asan-host "$asan_build/bin/cgfence-host-tests"
  fi
  if built fuzz; then
    CGFENCE_FUZZ_BUILD_DIR=$fuzz_build CGFENCE_FUZZ_WORK=$logs/fuzz \
      run_suite fuzz "$root/tests/fuzz/run-fuzz.sh" --seconds "${CGFENCE_FUZZ_SECONDS:-10}"
  fi
}

run_suite lint "$root/tests/lint.sh" "$build"
run_suite unit "$build/bin/cgfence-unit-tests"
run_suite oci "$build/bin/cgfence-oci-tests"
run_suite host "$build/bin/cgfence-host-tests"
# The container images the runtime suite runs, on the host and in the VM
# (made once with debootstrap, then cached beside the kernels).
if ! "$root/tests/vm/fetch-images.sh" >"$logs/fetch-images.log" 2>&1; then
  tail -n 20 "$logs/fetch-images.log"
  echo "FAIL images: making the container images failed (see $logs/fetch-images.log)"
  failed=$((failed + 1))
fi
run_suite runtime "$build/bin/cgfence-runtime-tests"
run_suite deb "$root/tests/packaging/deb-tests.sh" "$build"
run_suite k8s "$root/tests/packaging/k8s-tests.sh" "$build"
run_suite docs "$root/tests/docs/docs-tests.sh" "$build"

# The VM suites: real enforcement on every kernel of the matrix.
if [[ ${CGFENCE_VM:-1} == 0 ]]; then
  for kernel in $kernels; do
    echo "SKIP vm@$kernel: CGFENCE_VM=0 (VM suites not run)"
    skipped=$((skipped + 1))
  done
  run_background_suites
  finish
fi
if ! "$root/tests/vm/fetch-kernels.sh" $kernels >"$logs/fetch-kernels.log" 2>&1; then
  tail -n 20 "$logs/fetch-kernels.log"
  echo "FAIL vm: fetching the kernels failed (see $logs/fetch-kernels.log)"
  failed=$((failed + 1))
  finish
fi
# One boot per kernel runs every VM suite. Two guests at a time: each is one
# vCPU of TCG, and the host has two cores; the newest kernel, the slowest
# boot, goes first. Each guest's lines are shown, and counted, once it ends.
run_vm() { # run_vm KERNEL: one boot, its output and exit status in $logs
  local kernel=$1 begun=$SECONDS
  CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build \
    "$root/tests/vm/run.sh" --kernel "$kernel" --timeout 1800 -- \
    "$root/tests/vm/guest-suites.sh" >"$logs/vm@$kernel.log" 2>&1
  echo $? >"$logs/vm@$kernel.status"
  echo $((SECONDS - begun)) >"$logs/vm@$kernel.seconds"
}
report_vm() { # report_vm KERNEL: its lines and counts, as run_suite gives them
  local log=$logs/vm@$1.log status suite
  status=$(cat "$logs/vm@$1.status" 2>/dev/null || echo 125)
  echo "== vm@$1"
  cat "$log"
  count "$log"
  # Per suite: its tests and the sum of their seconds; the boot in all.
  for suite in $(grep -oE '^(PASS|FAIL|SKIP) vm@[^/]+/[^/]+' "$log" | cut -d' ' -f2 | sort -u); do
    timings+=("$suite $(grep -cE "^(PASS|FAIL|SKIP) $suite/" "$log") $(
      grep -E "^(PASS|FAIL) $suite/" "$log" | grep -oE '\(([0-9.]+)s\)$' | tr -d '()s' |
        awk '{ s += $1 } END { printf "%d", s }'
    )")
  done
  timings+=("vm@$1(boot,all) - $(cat "$logs/vm@$1.seconds" 2>/dev/null || echo '?')")
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL vm@$1: exited with status $status"
    failed=$((failed + 1))
  fi
}
lanes=${CGFENCE_VM_LANES:-2}
order=()
[[ " $kernels " == *" latest "* ]] && order=(latest)
mapfile -t -O "${#order[@]}" order < <(printf '%s\n' $kernels | grep -vx latest | sort -r -V)
guests=() # the lanes' pids; waited for by pid, never the background builds
for kernel in "${order[@]}"; do
  if ((${#guests[@]} >= lanes)); then
    wait -n -p ended "${guests[@]}"
    mapfile -t guests < <(printf '%s\n' "${guests[@]}" | grep -vx "$ended")
  fi
  run_vm "$kernel" &
  guests+=($!)
done
for guest in "${guests[@]}"; do
  wait "$guest"
done
for kernel in $kernels; do
  report_vm "$kernel"
done
run_background_suites
finish
