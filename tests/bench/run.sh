#!/usr/bin/env bash
# Runs every benchmark and writes tests/bench/RESULTS.md: the host ones
# (cgfence-hook-bench: 3, 4, 6; cgfence-runc-bench: 5) and, one boot per
# kernel, the VM ones (cgfence-open-bench: 1, 2; cgfence-runc-bench: 5).
# Benchmarks are not tests: nothing here passes or fails on a figure; a
# target's line says "met" or "MISSED". Runs as root; installs what it needs.
#
#   tests/bench/run.sh [--quick] [--kernels "5.10 6.1 6.12 latest"] [--results FILE]
#
#   --quick          short runs (a few minutes in all) to try the suite out; their
#                    figures are too noisy to publish
#   --kernels LIST   the VM kernels, as tests/vm/run.sh --kernel takes them
#   --results FILE   where the report goes, default tests/bench/RESULTS.md
#
# Environment: CGFENCE_BUILD_DIR (default <project>/build), CGFENCE_SKIP_DEPS=1
# (do not run tests/install-deps.sh).
set -euo pipefail

bench_dir=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$bench_dir/../.." && pwd -P)
build=${CGFENCE_BUILD_DIR:-$root/build}
kernels="5.10 6.1 6.12 latest"
results=$bench_dir/RESULTS.md
quick=0
command_line="tests/bench/run.sh${*:+ $*}"
while (($#)); do
  case $1 in
    --quick) quick=1; shift ;;
    --kernels) kernels=${2:?}; shift 2 ;;
    --results) results=${2:?}; shift 2 ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
  esac
done

if ((quick)); then
  hook_args=(--rounds 5 --rules 8,64,512 --others 100)
  runc_rounds=5
  open_args=(--rounds 2 --samples 2 --iterations 10000 --execs 200 --profiles 64)
else
  hook_args=(--rounds 40 --rules 8,64,512,4096,16384 --others 1000)
  runc_rounds=20
  open_args=(--rounds 4 --samples 3 --iterations 45000 --execs 450)
fi

if [[ ${CGFENCE_SKIP_DEPS:-0} != 1 ]]; then
  bash "$root/tests/install-deps.sh"
fi
echo "run.sh: building in $build" >&2
cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target cgfence-hook-bench cgfence-runc-bench \
  cgfence-open-bench cgfence-bench-exec-chain cgfence-hook cgfencectl >/dev/null
"$root/tests/vm/fetch-kernels.sh" $kernels >&2

out=$(mktemp -d /tmp/cgfence-bench.XXXXXX)
echo "run.sh: outputs in $out" >&2
echo "run.sh: host benchmarks" >&2
"$build/bin/cgfence-hook-bench" "${hook_args[@]}" >"$out/host-hook.txt"
"$build/bin/cgfence-runc-bench" --rounds "$runc_rounds" >"$out/host-runc.txt"
vm_status=0
CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build "$bench_dir/run-vm.sh" "$out/vm" \
  --kernels "$kernels" --runc-rounds "$runc_rounds" -- "${open_args[@]}" || vm_status=$?

# The guest's output without its progress lines and the harness's messages.
guest_tables() {
  grep -v -e '^cgfence-open-bench: round' -e '^cgfence-open-bench: [0-9]* states' \
    -e '^run\.sh: ' "$1" || true
}

{
  echo "# cgfence benchmark results"
  echo
  echo "Written by \`$command_line\` on $(date -u +%Y-%m-%dT%H:%MZ)$( ((quick)) && echo ' (QUICK: too short to publish)')."
  echo "Host: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)."
  echo "VM: Debian cloud kernels under qemu TCG (no KVM), 1 vCPU, one boot per kernel."
  echo "The commands each benchmark ran are in its section."
  echo
  cat "$bench_dir/results-method.md"
  echo
  echo "## Targets"
  echo
  echo '```'
  grep -h '^target' "$out/host-hook.txt" "$out/host-runc.txt" | sed 's/^/host  /'
  for kernel in $kernels; do
    [[ -f $out/vm/$kernel.txt ]] && grep '^target' "$out/vm/$kernel.txt" | sed "s/^/$kernel  /"
  done
  echo '```'
  echo
  echo "## Host: hook latency, teardown scaling, memory (3, 4, 6)"
  echo
  echo "\`cgfence-hook-bench ${hook_args[*]}\` on $(uname -r):"
  echo
  echo '```'
  grep -v '^target' "$out/host-hook.txt"
  echo '```'
  echo
  echo "## Host: runc run with and without the hook (5)"
  echo
  echo "\`cgfence-runc-bench --rounds $runc_rounds\`:"
  echo
  echo '```'
  grep -v '^target' "$out/host-runc.txt"
  echo '```'
  for kernel in $kernels; do
    echo
    echo "## VM $kernel: open(), execve (1, 2) and runc run (5)"
    echo
    echo '```'
    if [[ -f $out/vm/$kernel.txt ]]; then
      guest_tables "$out/vm/$kernel.txt" | grep -v '^target'
    else
      echo "(no output: the boot failed)"
    fi
    echo '```'
  done
  echo
  cat "$bench_dir/results-analysis.md"
} >"$results"
echo "run.sh: wrote $results" >&2
exit "$vm_status"
