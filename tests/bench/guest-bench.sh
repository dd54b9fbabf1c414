#!/usr/bin/env bash
# In the VM (tests/bench/run-vm.sh boots it): benchmarks 1 and 2
# (cgfence-open-bench) and 5 (cgfence-runc-bench), one after the other in one boot.
#
#   guest-bench.sh JSON RUNC-ROUNDS [OPEN-BENCH-ARGS...]
set -euo pipefail
json=$1 runc_rounds=$2
shift 2
cgfence-open-bench "$@" --json "$json"
echo
cgfence-runc-bench --rounds "$runc_rounds"
