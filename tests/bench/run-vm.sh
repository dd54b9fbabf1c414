#!/usr/bin/env bash
# The VM benchmarks on each kernel of the matrix: 1 and 2 (open()+close() and execve
# under cgfence, every state interleaved inside the boot by cgfence-open-bench), then 5
# (runc run with and without the hook). One boot per kernel, one kernel at a time.
#
#   run-vm.sh OUTDIR [--kernels "5.10 6.1 6.12 latest"] [--timeout SECONDS]
#             [--runc-rounds N] [-- OPEN-BENCH-ARGS...]
#
#   OUTDIR             gets <kernel>.txt (the guest's output: progress and tables) and
#                      <kernel>.json (cgfence-open-bench --json) for each kernel
#   --kernels LIST     the kernels, as tests/vm/run.sh --kernel takes them
#   --timeout SECONDS  per boot, default 3600 (cgfence-open-bench's own defaults take
#                      ~25 min under TCG; tests/bench/run.sh passes shorter runs)
#   --runc-rounds N    rounds of benchmark 5, default 20
#   OPEN-BENCH-ARGS    passed to cgfence-open-bench (--rounds, --iterations, --execs, ...)
#
# Environment: CGFENCE_BUILD_DIR (default <project>/build; must hold the benchmarks,
# cgfence-hook and cgfencectl), CGFENCE_VM_NO_BUILD as for tests/vm/run.sh.
# Exit status: 0 when every kernel's run succeeded, else 1 (the others still run).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd -P)
PROJECT_DIR=$(cd "$BENCH_DIR/../.." && pwd -P)
BUILD_DIR=$(realpath -m "${CGFENCE_BUILD_DIR:-$PROJECT_DIR/build}")

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

(($#)) || usage
OUT_DIR=$1
shift
KERNELS="5.10 6.1 6.12 latest" TIMEOUT=3600 RUNC_ROUNDS=20 BENCH_ARGS=()
while (($#)); do
    case $1 in
        --kernels) KERNELS=${2:?}; shift 2 ;;
        --timeout) TIMEOUT=${2:?}; shift 2 ;;
        --runc-rounds) RUNC_ROUNDS=${2:?}; shift 2 ;;
        --) shift; BENCH_ARGS=("$@"); break ;;
        *) usage ;;
    esac
done
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")

# The guest writes only to the project and build trees: the JSON lands there first.
GUEST_DIR=$(mktemp -d "$BUILD_DIR/bench-vm.XXXXXX")
trap 'rm -rf "$GUEST_DIR"' EXIT

status=0
build_done=${CGFENCE_VM_NO_BUILD:-0}
for kernel in $KERNELS; do
    echo "run-vm.sh: $kernel" >&2
    rc=0
    # The first boot builds when asked to; the others reuse that build.
    CGFENCE_VM_NO_BUILD=$build_done CGFENCE_BUILD_DIR=$BUILD_DIR \
        "$PROJECT_DIR/tests/vm/run.sh" --kernel "$kernel" --timeout "$TIMEOUT" -- \
        bash "$BENCH_DIR/guest-bench.sh" "$GUEST_DIR/$kernel.json" "$RUNC_ROUNDS" "${BENCH_ARGS[@]}" \
        >"$OUT_DIR/$kernel.txt" 2>&1 || rc=$?
    build_done=1
    if ((rc == 0)) && [[ -f $GUEST_DIR/$kernel.json ]]; then
        mv "$GUEST_DIR/$kernel.json" "$OUT_DIR/$kernel.json"
    else
        echo "run-vm.sh: $kernel failed (exit status $rc); see $OUT_DIR/$kernel.txt" >&2
        status=1
    fi
done
exit $status
