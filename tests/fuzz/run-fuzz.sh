#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz: first every checked-in regression
# input of a target (each one a crash found before), then the target itself
# for a bounded time, from its seed corpus. One line per target:
#   PASS fuzz/<target>: N runs in S s, R regressions replayed
#   FAIL fuzz/<target>: <what> <the crashing input>
# and a non-zero exit when any target failed.
#
#   tests/fuzz/run-fuzz.sh                    every target, 10 s each
#   tests/fuzz/run-fuzz.sh --seconds 600 resolver   one target, longer
#   tests/fuzz/run-fuzz.sh --build            configure and build build-fuzz first
#
# Environment: CGFENCE_FUZZ_SECONDS (the default of --seconds),
# CGFENCE_FUZZ_BUILD_DIR (default build-fuzz), CGFENCE_FUZZ_WORK (a directory
# that keeps the grown corpora and crashes across runs; default a temporary
# one, removed unless something failed).
#
# A crash: copy the input it names to tests/fuzz/regressions/<target>/, with a
# name that says what it found; from then on every run replays it.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$root/tests/fuzz
build=${CGFENCE_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${CGFENCE_FUZZ_SECONDS:-10}
all_targets=(state config profile resolver)
targets=()
do_build=0

while (($#)); do
  case $1 in
  --seconds) seconds=$2 && shift 2 ;;
  --build) do_build=1 && shift ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
  *) targets+=("$1") && shift ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "run-fuzz: --seconds wants a whole number of seconds, got '$seconds'" >&2
  exit 2
fi

if ((do_build)); then
  echo "run-fuzz: building $build (one core)"
  if ! { cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCGFENCE_FUZZ=ON -DCGFENCE_BUILD_TESTS=OFF -DCGFENCE_WERROR=ON >/dev/null &&
    cmake --build "$build" -j1 --target cgfence-fuzzers >/dev/null; }; then
    echo "FAIL fuzz: the build of $build failed"
    exit 1
  fi
fi

work=${CGFENCE_FUZZ_WORK:-}
keep_work=1
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/cgfence-fuzz.XXXXXX)
  keep_work=0
fi
mkdir -p "$work"
# Sanitizer reports abort (libFuzzer then saves the input); leaks count too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The largest input worth trying per target: above the largest seed (podman's
# config.json is 10 KiB), below what makes each run slow.
declare -A max_len=([state]=4096 [config]=16384 [profile]=8192 [resolver]=2048)

failed=0
# report LOG: the lines of a crash report worth seeing in a suite's output.
report() {
  grep -E 'property failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:|uncaught exception|what\(\)' "$1" |
    head -n 8 | sed 's/^/  /'
}

for target in "${targets[@]}"; do
  binary=$build/bin/cgfence-fuzz-$target
  if [[ ! -x $binary ]]; then
    echo "FAIL fuzz/$target: $binary is not built (tests/fuzz/run-fuzz.sh --build)"
    failed=1
    continue
  fi
  dir=$work/$target
  mkdir -p "$dir/corpus" "$dir/crashes"
  # The resolver makes its trees under TMPDIR: inside the work directory, so
  # that a crash's leftovers go with it.
  mkdir -p "$dir/tmp"

  regressions=()
  if [[ -d $fuzz/regressions/$target ]]; then
    while IFS= read -r -d '' input; do
      regressions+=("$input")
    done < <(find "$fuzz/regressions/$target" -type f ! -name '*.md' -print0 | sort -z)
  fi
  crashed=""
  # Each input 20 times: some were found by a race (a rename elsewhere while
  # the resolver walks "..") and show only now and then.
  for input in "${regressions[@]}"; do
    if ! TMPDIR=$dir/tmp "$binary" -runs=20 "$input" >"$dir/regression.log" 2>&1; then
      crashed=$input
      break
    fi
  done
  if [[ -n $crashed ]]; then
    report "$dir/regression.log"
    echo "FAIL fuzz/$target: regression input crashes: $crashed"
    failed=1
    continue
  fi

  cat "$fuzz/dict/json.dict" "$fuzz/dict/$target.dict" >"$dir/dict" 2>/dev/null ||
    cp "$fuzz/dict/$target.dict" "$dir/dict"
  # New inputs go to the first corpus directory (the work one); the
  # checked-in seeds are only read.
  TMPDIR=$dir/tmp "$binary" -max_total_time="$seconds" -timeout=10 -max_len="${max_len[$target]}" \
    -dict="$dir/dict" -artifact_prefix="$dir/crashes/" -print_final_stats=1 \
    "$dir/corpus" "$fuzz/corpus/$target" >"$dir/fuzz.log" 2>&1
  status=$?
  if ((status != 0)); then
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/fuzz.log" | tail -n 1)
    report "$dir/fuzz.log"
    echo "FAIL fuzz/$target: exit status $status, input ${crash:-not saved} (log $dir/fuzz.log)"
    failed=1
    continue
  fi
  read -r runs took < <(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$dir/fuzz.log")
  echo "PASS fuzz/$target: ${runs:-?} runs in ${took:-?} s, ${#regressions[@]} regressions replayed"
done

if ((failed)); then
  echo "run-fuzz: crashes and logs kept in $work"
elif ((!keep_work)); then
  rm -rf "$work"
fi
exit "$failed"
