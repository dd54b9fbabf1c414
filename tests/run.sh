#!/usr/bin/env bash
# Builds cgfence and runs its suites: the VM suites on each kernel of the
# matrix (one boot per kernel runs them) in the background, and beside them
# the host suites, then the sanitizer and fuzz suites; the guests' lines come
# last, as each guest ends. Each test prints one line, PASS, FAIL or SKIP
# (with why); a table of each suite's tests and seconds follows, and the last
# line is the count: "N passed, N failed, N skipped". Where each feature's
# tests are: tests/README.md.
#
#   tests/run.sh                            everything
#   tests/run.sh --list                     the suites, one per line, with what they cover
#   tests/run.sh --suite vm-kernel --kernel 6.1    one suite on one kernel
#   tests/run.sh --suite unit,host          some suites (the build always runs)
#
# Environment: CGFENCE_KERNELS="6.1 latest" (as --kernel), CGFENCE_VM=0 (no
# VM suite: they count as skipped), CGFENCE_VM_LANES=1 (one guest at a time;
# default two), CGFENCE_BUILD_DIR, CGFENCE_SKIP_DEPS=1, CGFENCE_FUZZ_SECONDS,
# CGFENCE_CCACHE_DIR and CGFENCE_TIDY_CACHE (caches; "" turns one off).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CGFENCE_BUILD_DIR:-$root/build}
all_kernels="5.10 6.1 6.12 latest"
kernels=${CGFENCE_KERNELS:-$all_kernels}

# Every suite, in the order it runs, and what it covers (--list).
suite_list() {
  cat <<'EOF'
lint        clang-format and clang-tidy over every C and C++ source
unit        profiles, policy building, learning, ABI layout, hook prototypes, mountinfo
oci         OCI state and config.json parsing, every runtime's variant, malformed input
host        pinned maps (load --maps-only), the hook's bad input and faults, resolution, cgfencectl
runtime     runc, crun and podman with the hook on the host: maps, records, apply, selection
deb         the Debian package: lintian, install, units, podman's hooks.d, removal
k8s         the DaemonSet manifest and the node installer
docs        the README's commands, run (the quick start in a VM)
vm-kernel   enforcement on each kernel: access, walks, overlays, loader, self-protection, confinement
vm-runtime  enforcement of real containers on each kernel: bypasses, exec, real images, learn
asan        unit, oci and host again under AddressSanitizer and UBSan
fuzz        libFuzzer: OCI state, config.json, profiles, the resolver
EOF
}
known_suites=$(suite_list | cut -d' ' -f1 | tr '\n' ' ')

usage() {
  echo "usage: tests/run.sh [--suite NAME[,NAME...]] [--kernel LABEL[,LABEL...]] [--list]" >&2
  echo "  suites: $known_suites; kernels: $all_kernels" >&2
  exit 2
}
suites=$known_suites
while (($#)); do
  case $1 in
  --list) suite_list; exit 0 ;;
  --suite) [[ -n ${2:-} ]] || usage; suites=${2//,/ }; shift 2 ;;
  --suite=*) suites=${1#--suite=}; suites=${suites//,/ }; shift ;;
  --kernel) [[ -n ${2:-} ]] || usage; kernels=${2//,/ }; shift 2 ;;
  --kernel=*) kernels=${1#--kernel=}; kernels=${kernels//,/ }; shift ;;
  -h | --help) usage ;;
  *) echo "tests/run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
for s in $suites; do
  [[ " $known_suites " == *" $s "* ]] || { echo "tests/run.sh: unknown suite '$s' (--list shows them)" >&2; exit 2; }
done
for k in $kernels; do
  [[ " $all_kernels " == *" $k "* ]] || { echo "tests/run.sh: unknown kernel '$k' (one of: $all_kernels)" >&2; exit 2; }
done
wanted() { # wanted NAME...: whether any of these suites was asked for
  local s
  for s in "$@"; do [[ " $suites " == *" $s "* ]] && return 0; done
  return 1
}

logs=$(mktemp -d /tmp/cgfence-run.XXXXXX)
passed=0 failed=0 skipped=0
started=$SECONDS
timings=() # "suite kernel tests seconds", for the table

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
  timings+=("$name host $(grep -cE '^(PASS|FAIL|SKIP) ' "$log") $((SECONDS - begun))")
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL $name: exited with status $status"
    failed=$((failed + 1))
  fi
}

# The table: each suite's tests and seconds (a VM suite's are the sum of its
# tests' own; "boot" is a guest's whole run), and the whole run's minutes.
summary() {
  local row
  echo "== timing"
  printf '%-12s %-8s %6s %8s\n' suite kernel tests seconds
  for row in "${timings[@]}"; do
    # shellcheck disable=SC2086 # a row is four words
    printf '%-12s %-8s %6s %8s\n' $row
  done
  printf 'whole run: %d min %d s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60))
  [[ -n ${builds_pid:-} ]] && kill "$builds_pid" 2>/dev/null
  echo "logs: $logs"
  echo "$passed passed, $failed failed, $skipped skipped"
  ((failed == 0))
  exit
}

# Dependencies: apt packages (tests/install-deps.sh), unless told not to.
install_dependencies() {
  [[ ${CGFENCE_SKIP_DEPS:-0} == 1 ]] && return
  bash "$root/tests/install-deps.sh" || { echo "FAIL install-deps"; failed=1; summary; }
}

# A compiler cache (ccache) shared by every clone on this machine, keyed by
# what the compiler sees (paths below the source tree made relative): a
# build of sources built before takes seconds. Given to CMake through its
# environment, so that every build of the run uses it: this one's, the
# package's and the quick start's. CGFENCE_CCACHE_DIR="" turns it off.
use_ccache() {
  [[ -n ${CGFENCE_CCACHE_DIR-/var/cache/cgfence/ccache} ]] && command -v ccache >/dev/null || return 0
  export CCACHE_DIR=${CGFENCE_CCACHE_DIR:-/var/cache/cgfence/ccache} CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
}

# The build, warnings as errors, on every core.
build_main() {
  local begun=$SECONDS
  echo "== build ($build)"
  if ! { cmake -S "$root" -B "$build" -DCGFENCE_WERROR=ON >"$logs/configure.log" 2>&1 &&
    cmake --build "$build" -j"$(nproc)" >"$logs/build.log" 2>&1; }; then
    tail -n 40 "$logs/configure.log" "$logs/build.log"
    echo "FAIL build"
    failed=1
    summary
  fi
  timings+=("build host - $((SECONDS - begun))")
}

# The ASan and fuzz builds: one chain in the background, on one core, behind
# the host suites. Each build leaves its exit status in $logs/NAME-build.status.
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
start_background_builds() {
  (
    if wanted asan; then build_step asan asan_build; fi
    if wanted fuzz; then build_step fuzz fuzz_build; fi
  ) &
  builds_pid=$!
}
built() { # built NAME: whether the background build NAME succeeded (says why not)
  local status
  status=$(cat "$logs/$1-build.status" 2>/dev/null || echo "never finished")
  [[ $status == 0 ]] && return 0
  tail -n 40 "$logs/$1-build.log"
  echo "FAIL $1 build: $status"
  failed=$((failed + 1))
  return 1
}

# The container images the runtime suites run (cached: made once per machine).
make_images() {
  wanted runtime vm-runtime || return 0
  "$root/tests/vm/fetch-images.sh" >"$logs/fetch-images.log" 2>&1 && return 0
  tail -n 20 "$logs/fetch-images.log"
  echo "FAIL images: making the container images failed (see $logs/fetch-images.log)"
  failed=$((failed + 1))
}

# The host suites, in order.
run_host_suites() {
  wanted lint && run_suite lint "$root/tests/lint.sh" "$build"
  wanted unit && run_suite unit "$build/bin/cgfence-unit-tests"
  wanted oci && run_suite oci "$build/bin/cgfence-oci-tests"
  wanted host && run_suite host "$build/bin/cgfence-host-tests"
  wanted runtime && run_suite runtime "$build/bin/cgfence-runtime-tests"
  wanted deb && run_suite deb "$root/tests/packaging/deb-tests.sh" "$build"
  wanted k8s && run_suite k8s "$root/tests/packaging/k8s-tests.sh" "$build"
  wanted docs && run_suite docs "$root/tests/docs/docs-tests.sh" "$build"
}

# The VM suites: real enforcement on each kernel asked for, one boot per
# kernel, two guests at a time (each is one vCPU of TCG; the host has two
# cores), the newest kernel, the slowest boot, first. The guests' lines are
# shown, and counted, once all have ended.
run_vm() { # run_vm KERNEL GUEST_SUITES: one boot, its output, status and seconds in $logs
  local kernel=$1 begun=$SECONDS
  CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build \
    "$root/tests/vm/run.sh" --kernel "$kernel" --timeout 1800 -- \
    "$root/tests/vm/guest-suites.sh" "$2" >"$logs/vm@$kernel.log" 2>&1
  echo $? >"$logs/vm@$kernel.status"
  echo $((SECONDS - begun)) >"$logs/vm@$kernel.seconds"
}
report_vm() { # report_vm KERNEL: its lines, counts and timings, as run_suite gives them
  local kernel=$1 log=$logs/vm@$1.log status suite lines
  status=$(cat "$logs/vm@$kernel.status" 2>/dev/null || echo 125)
  echo "== vm@$kernel"
  cat "$log"
  count "$log"
  for suite in kernel runtime; do
    lines=$(grep -E "^(PASS|FAIL|SKIP) vm@[^/]+/$suite-tests/" "$log")
    [[ -z $lines ]] && continue
    timings+=("vm-$suite $kernel $(wc -l <<<"$lines") $(grep -oE '\(([0-9.]+)s\)$' <<<"$lines" |
      tr -d '()s' | awk '{ s += $1 } END { printf "%d", s }')")
  done
  timings+=("boot $kernel - $(cat "$logs/vm@$kernel.seconds" 2>/dev/null || echo '?')")
  if ((status != 0)) && ! grep -q '^FAIL ' "$log"; then
    echo "FAIL vm@$kernel: exited with status $status"
    failed=$((failed + 1))
  fi
}
# Starts the guests in the background (a scheduler of lanes); report_vm_suites
# waits for them and reports.
start_vm_suites() {
  local guest_suites="" kernel order=()
  wanted vm-kernel && guest_suites+="kernel,"
  wanted vm-runtime && guest_suites+="runtime,"
  [[ -z $guest_suites ]] && return
  if [[ ${CGFENCE_VM:-1} == 0 ]]; then
    for kernel in $kernels; do
      echo "SKIP vm@$kernel: CGFENCE_VM=0 (VM suites not run)"
      skipped=$((skipped + 1))
    done
    return
  fi
  if ! "$root/tests/vm/fetch-kernels.sh" $kernels >"$logs/fetch-kernels.log" 2>&1; then
    tail -n 20 "$logs/fetch-kernels.log"
    echo "FAIL vm: fetching the kernels failed (see $logs/fetch-kernels.log)"
    failed=$((failed + 1))
    return
  fi
  [[ " $kernels " == *" latest "* ]] && order=(latest)
  mapfile -t -O "${#order[@]}" order < <(printf '%s\n' $kernels | grep -vx latest | sort -r -V)
  (
    guests=() # waited for by pid
    for kernel in "${order[@]}"; do
      if ((${#guests[@]} >= ${CGFENCE_VM_LANES:-2})); then
        wait -n -p ended "${guests[@]}"
        mapfile -t guests < <(printf '%s\n' "${guests[@]}" | grep -vx "$ended")
      fi
      run_vm "$kernel" "${guest_suites%,}" &
      guests+=($!)
    done
    wait
  ) &
  vm_pid=$!
}
report_vm_suites() {
  local kernel
  [[ -z ${vm_pid:-} ]] && return
  wait "$vm_pid"
  vm_pid=
  for kernel in $kernels; do
    report_vm "$kernel"
  done
}

# The sanitizer and fuzz suites, once their builds are done.
run_background_suites() {
  [[ -n ${builds_pid:-} ]] && wait "$builds_pid" 2>/dev/null
  builds_pid=
  if wanted asan && built asan; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_suite asan-unit "$asan_build/bin/cgfence-unit-tests"
    run_suite asan-oci "$asan_build/bin/cgfence-oci-tests"
    run_suite asan-host "$asan_build/bin/cgfence-host-tests"
  fi
  if wanted fuzz && built fuzz; then
    CGFENCE_FUZZ_BUILD_DIR=$fuzz_build CGFENCE_FUZZ_WORK=$logs/fuzz \
      run_suite fuzz "$root/tests/fuzz/run-fuzz.sh" --seconds "${CGFENCE_FUZZ_SECONDS:-10}"
  fi
}

install_dependencies
use_ccache
build_main
make_images
# The guests first: they are most of the run (each a core of TCG for ten
# minutes or more); the host suites, and then the sanitizer and fuzz suites
# (whose builds go on in the background), run beside them.
start_vm_suites
start_background_builds
run_host_suites
run_background_suites
report_vm_suites
summary
