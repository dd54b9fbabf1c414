#!/usr/bin/env bash
# Builds cgfence and runs every suite: the host unit and integration suites,
# then the VM suites on each kernel of the matrix (one boot per kernel runs
# every VM suite). Each test prints one line, PASS, FAIL or SKIP (with why);
# the last line is the count: "N passed, N failed, N skipped".
#
#   tests/run.sh                      everything
#   CGFENCE_KERNELS="6.1" tests/run.sh  one kernel of the matrix
#   CGFENCE_VM=0 tests/run.sh         host suites only (the VM suites count as skipped)
#   CGFENCE_VM_LANES=1 tests/run.sh   one guest at a time (default: two)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CGFENCE_BUILD_DIR:-$root/build}
kernels=${CGFENCE_KERNELS:-"5.10 6.1 6.12 latest"}
logs=$(mktemp -d /tmp/cgfence-run.XXXXXX)
passed=0 failed=0 skipped=0

count() { # count FILE: adds its PASS/FAIL/SKIP lines to the totals
  local p f s
  p=$(grep -c '^PASS ' "$1") f=$(grep -c '^FAIL ' "$1") s=$(grep -c '^SKIP ' "$1")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# run_suite NAME COMMAND...: runs a suite, shows its lines, counts them. A
# suite that fails without saying which test failed counts as one failure.
run_suite() {
  local name=$1 log=$logs/$1.log status
  shift
  echo "== $name"
  CGFENCE_SUITE_PREFIX=$name "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  count "$log"
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL $name: exited with status $status"
    failed=$((failed + 1))
  fi
}

finish() {
  [[ -n ${asan_build_pid:-} ]] && kill "$asan_build_pid" 2>/dev/null
  [[ -n ${fuzz_build_pid:-} ]] && kill "$fuzz_build_pid" 2>/dev/null
  echo "logs: $logs"
  echo "$passed passed, $failed failed, $skipped skipped"
  ((failed == 0))
  exit
}

if [[ ${CGFENCE_SKIP_DEPS:-0} != 1 ]]; then
  bash "$root/tests/install-deps.sh" || { echo "FAIL install-deps"; failed=1; finish; }
fi

echo "== build ($build)"
if ! { cmake -S "$root" -B "$build" -DCGFENCE_WERROR=ON >"$logs/configure.log" 2>&1 &&
  cmake --build "$build" -j"$(nproc)" >"$logs/build.log" 2>&1; }; then
  tail -n 40 "$logs/configure.log" "$logs/build.log"
  echo "FAIL build"
  failed=1
  finish
fi

# The unit, oci and host suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer (binaries they run included). Built in the
# background on one core while the other suites run; run at the end.
asan_build=${CGFENCE_ASAN_BUILD_DIR:-$root/build-asan}
(cmake -S "$root" -B "$asan_build" -DCGFENCE_SANITIZE=ON -DCGFENCE_WERROR=ON &&
  cmake --build "$asan_build" -j1 --target cgfence-unit-tests cgfence-oci-tests cgfence-host-tests) \
  >"$logs/asan-build.log" 2>&1 &
asan_build_pid=$!
run_asan_suites() {
  echo "== asan build ($asan_build)"
  if ! wait "$asan_build_pid"; then
    tail -n 40 "$logs/asan-build.log"
    echo "FAIL asan build"
    failed=$((failed + 1))
    return
  fi
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite asan-unit "$asan_build/bin/cgfence-unit-tests"
  run_suite asan-oci "$asan_build/bin/cgfence-oci-tests"
  run_suite asan-host "$asan_build/bin/cgfence-host-tests"
}

# The libFuzzer targets (tests/fuzz), built with clang in the background
# too, after the ASan build (one core for both), and run at the very end for
# CGFENCE_FUZZ_SECONDS (10) each.
fuzz_build=${CGFENCE_FUZZ_BUILD_DIR:-$root/build-fuzz}
# (The ASan build's process stays a zombie until it is waited for: its state
# tells when it is done.)
(while ps -o stat= -p "$asan_build_pid" | grep -qv Z; do sleep 5; done
  cmake -S "$root" -B "$fuzz_build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCGFENCE_FUZZ=ON -DCGFENCE_BUILD_TESTS=OFF -DCGFENCE_WERROR=ON &&
  cmake --build "$fuzz_build" -j1 --target cgfence-fuzzers) >"$logs/fuzz-build.log" 2>&1 &
fuzz_build_pid=$!
run_fuzz_suite() {
  echo "== fuzz build ($fuzz_build)"
  if ! wait "$fuzz_build_pid"; then
    tail -n 40 "$logs/fuzz-build.log"
    echo "FAIL fuzz build"
    failed=$((failed + 1))
    return
  fi
  CGFENCE_FUZZ_BUILD_DIR=$fuzz_build CGFENCE_FUZZ_WORK=$logs/fuzz \
    run_suite fuzz "$root/tests/fuzz/run-fuzz.sh" --seconds "${CGFENCE_FUZZ_SECONDS:-10}"
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
  run_asan_suites
  run_fuzz_suite
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
# The churn test runs the hook twice per container, ~0.3 s a run under TCG:
# 200 containers on the newest kernel, 48 on the older ones.
run_vm() { # run_vm KERNEL: one boot, its output and exit status in $logs
  local kernel=$1 churn=48
  [[ $kernel == latest ]] && churn=200
  CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build \
    "$root/tests/vm/run.sh" --kernel "$kernel" --timeout 1800 -- \
    "$root/tests/vm/guest-suites.sh" --churn "$churn" >"$logs/vm@$kernel.log" 2>&1
  echo $? >"$logs/vm@$kernel.status"
}
report_vm() { # report_vm KERNEL: its lines and counts, as run_suite gives them
  local log=$logs/vm@$1.log status
  status=$(cat "$logs/vm@$1.status" 2>/dev/null || echo 125)
  echo "== vm@$1"
  cat "$log"
  count "$log"
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL vm@$1: exited with status $status"
    failed=$((failed + 1))
  fi
}
lanes=${CGFENCE_VM_LANES:-2}
order=()
[[ " $kernels " == *" latest "* ]] && order=(latest)
mapfile -t -O "${#order[@]}" order < <(printf '%s\n' $kernels | grep -vx latest | sort -r -V)
running=0
for kernel in "${order[@]}"; do
  if ((running >= lanes)); then
    wait -n
    running=$((running - 1))
  fi
  run_vm "$kernel" &
  running=$((running + 1))
done
wait
for kernel in $kernels; do
  report_vm "$kernel"
done
run_asan_suites
run_fuzz_suite
finish
