#!/usr/bin/env bash
# cgfence's quick start: installs what it needs, builds, and shows cgfence
# enforcing. On a host whose kernel runs BPF LSM programs it runs here;
# otherwise in the project's VM with a Debian kernel (it says which).
#   sudo packaging/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ ${CGFENCE_QUICKSTART_STAGE:-} != demo ]]; then
  bash "$root/tests/install-deps.sh"
  cmake -S "$root" -B "$root/build" >/dev/null
  cmake --build "$root/build" -j"$(nproc)" >/dev/null
  export PATH=$root/build/bin:$PATH
  if cgfencectl --pin-dir /sys/fs/bpf/cgfence-quickstart-probe load >/dev/null 2>&1; then
    cgfencectl --pin-dir /sys/fs/bpf/cgfence-quickstart-probe unload --force >/dev/null
    echo "This host's kernel runs BPF LSM programs: running the demo here."
    CGFENCE_QUICKSTART_STAGE=demo exec "$0"
  fi
  echo "This host's kernel does not run BPF LSM programs: running the demo in a VM"
  echo "(Debian's newest kernel under qemu; tests/vm/run.sh)."
  "$root/tests/vm/fetch-kernels.sh" latest >/dev/null
  CGFENCE_VM_NO_BUILD=1 exec "$root/tests/vm/run.sh" --kernel latest -- \
    env CGFENCE_QUICKSTART_STAGE=demo "$0"
fi

echo "== kernel $(uname -r): loading cgfence"
cgfencectl load
cgfencectl status
