#!/usr/bin/env bash
# Runs the README's commands, so the docs cannot rot. Each ```sh block is a
# test, named by its line:
#   sh           run in order on this machine, as root (the install block
#                builds and installs the real package; removed at the end)
#   sh loaded    run in the VM with cgfence really loaded (they need live
#                enforcement: programs, links, events)
#   sh top       the two set-up commands: the quick start is run and its
#                output checked; the other is tests/run.sh, running this
#   sh not-run:  cannot run on one host (a registry, a cluster): not a test;
#                a note says so, with why
#
#   tests/docs/docs-tests.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: docs-tests.sh BUILD_DIR}
prefix=${CGFENCE_SUITE_PREFIX:-docs}
blocks=$build/docs-blocks # inside the tree: the VM sees it at the same path
rm -rf "$blocks"
list=$(python3 "$root/tests/docs/readme_blocks.py" "$root/README.md" "$blocks") || {
  echo "FAIL $prefix/extract: reading README.md's blocks failed"
  exit 1
}
trap 'dpkg --purge cgfence >/dev/null 2>&1; rm -rf /tmp/cgfence-deb' EXIT

# The README says sudo; this suite runs as root, where sudo may be absent.
prelude='command -v sudo >/dev/null || sudo() { "$@"; }'

run_block() { # run_block FILE: in the source tree, stopping at the first failure
  (cd "$root" && bash -euo pipefail -c "$prelude"$'\n'"$(cat "$1")")
}

vm_available=1
[[ ${CGFENCE_VM:-1} == 0 ]] && vm_available=0
if ((vm_available)) && ! "$root/tests/vm/fetch-kernels.sh" latest >"$blocks/fetch.log" 2>&1; then
  echo "FAIL $prefix/vm: fetching the kernel failed: $(tail -n 3 "$blocks/fetch.log")"
  vm_available=0
fi

loaded=()
while read -r n class line reason; do
  name="README.md:$line"
  case $class in
  top)
    if ((!vm_available)); then
      echo "SKIP $prefix/$name quick start: CGFENCE_VM=0 and this kernel may need the VM"
      continue
    fi
    quickstart=$(grep -o '^sudo packaging/quickstart.sh' "$blocks/$n.sh" | sed 's/^sudo //')
    out=$(cd "$root" && CGFENCE_BUILD_DIR=$build $quickstart 2>&1)
    status=$?
    if ((status == 0)) && [[ $out == *'NAME="cgfence quick start"'* && $out == *"Permission denied"* &&
      $out == *"denied container=quickstart profile=minimal"* && $out == *"quickstart  minimal  enforce"* ]]; then
      echo "PASS $prefix/$name quick start: allowed read, denied read, ps, stats and the event"
    else
      echo "FAIL $prefix/$name quick start (status $status): $(tail -n 15 <<<"$out")"
    fi
    echo "$prefix: $name's tests/run.sh is the command running these tests"
    ;;
  run)
    if out=$(run_block "$blocks/$n.sh" 2>&1); then
      echo "PASS $prefix/$name"
    else
      echo "FAIL $prefix/$name: $(tail -n 8 <<<"$out")"
    fi
    ;;
  loaded) loaded+=("$n:$name") ;;
  not-run) echo "$prefix: $name is not a test: $reason" ;;
  *) echo "FAIL $prefix/$name: unknown block class '$class' (sh, sh loaded, sh top, sh not-run: why)" ;;
  esac
done <<<"$list"

if ((${#loaded[@]})); then
  if ((!vm_available)); then
    for item in "${loaded[@]}"; do echo "SKIP $prefix/${item#*:}: CGFENCE_VM=0 (needs live enforcement)"; done
  else
    CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build "$root/tests/vm/run.sh" --kernel latest \
      --timeout 900 -- "$root/tests/docs/guest-loaded-blocks.sh" "$blocks" "$prefix" "${loaded[@]}" ||
      echo "FAIL $prefix/vm: the guest run of the loaded blocks failed"
  fi
fi
