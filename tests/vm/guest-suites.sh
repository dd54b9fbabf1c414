#!/usr/bin/env bash
# Runs inside the guest (tests/vm/run.sh -- tests/vm/guest-suites.sh): every
# VM suite in one boot. Each test prints PASS/FAIL/SKIP lines named
# vm@<kernel>/<suite>/<test>.
set -u
status=0
# The runtime suite's churn test runs the hook twice per container, ~0.3 s a
# run under TCG: 200 containers on the newest kernel, 48 on the older ones,
# so that one boot per kernel stays within the CI budget.
if [[ ${CGFENCE_VM_KERNEL} != 7.* ]]; then
  export CGFENCE_CHURN_CONTAINERS=${CGFENCE_CHURN_CONTAINERS:-48}
fi
for suite in cgfence-kernel-tests cgfence-runtime-tests; do
  if ! command -v "$suite" >/dev/null; then
    echo "FAIL vm@${CGFENCE_VM_KERNEL}/${suite}: not built"
    status=1
    continue
  fi
  CGFENCE_SUITE_PREFIX="vm@${CGFENCE_VM_KERNEL}/${suite#cgfence-}" "$suite" || status=1
done
exit $status
