#!/usr/bin/env bash
# Runs inside the guest (tests/vm/run.sh -- tests/vm/guest-suites.sh): the VM
# suites in one boot. Each test prints PASS/FAIL/SKIP lines named
# vm@<kernel>/<suite>/<test>. Each suite lists only the tests that mean
# something in the VM (tests/support/placement.hpp).
#
#   guest-suites.sh [kernel,runtime] [--churn N]
#       the suites (default both); N: containers of the runtime suite's churn
#       test (default 16: each hook run is slow under TCG; the host run churns 200)
set -u
status=0
suites="kernel runtime"
if [[ ${1:-} =~ ^[a-z,]+$ ]]; then
  suites=${1//,/ }
  shift
fi
export CGFENCE_CHURN_CONTAINERS=16
if [[ ${1:-} == --churn ]]; then
  export CGFENCE_CHURN_CONTAINERS=${2:?--churn needs a number}
fi
for suite in $suites; do
  binary=cgfence-$suite-tests
  if ! command -v "$binary" >/dev/null; then
    echo "FAIL vm@${CGFENCE_VM_KERNEL}/$suite-tests: not built"
    status=1
    continue
  fi
  CGFENCE_SUITE_PREFIX="vm@${CGFENCE_VM_KERNEL}/$suite-tests" "$binary" || status=1
done
exit $status
