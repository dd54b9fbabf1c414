#!/usr/bin/env bash
# cgfence's quick start: installs what it needs, builds, loads cgfence and
# runs a real runc container under the `minimal` profile: an allowed read, a
# denied read, and the denial as cgfence records it. On a host whose kernel
# runs BPF LSM programs it runs here; otherwise in the project's VM with
# Debian's newest kernel (it says which). Leaves nothing installed behind but
# the build and the test dependencies.
#   sudo packaging/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CGFENCE_BUILD_DIR:-$root/build}

if [[ ${CGFENCE_QUICKSTART_STAGE:-} != demo ]]; then
  bash "$root/tests/install-deps.sh"
  cmake -S "$root" -B "$build" >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
  probe=/sys/fs/bpf/cgfence-quickstart-probe
  if "$build/bin/cgfencectl" --pin-dir "$probe" load >/dev/null 2>&1; then
    "$build/bin/cgfencectl" --pin-dir "$probe" unload --force >/dev/null
    echo "This host's kernel runs BPF LSM programs: the demo runs here."
    PATH=$build/bin:$PATH CGFENCE_QUICKSTART_STAGE=demo exec "$0"
  fi
  echo "This host's kernel does not run BPF LSM programs: the demo runs in a VM"
  echo "with Debian's newest kernel under qemu (tests/vm/run.sh)."
  "$root/tests/vm/fetch-kernels.sh" latest >/dev/null
  CGFENCE_VM_NO_BUILD=1 CGFENCE_BUILD_DIR=$build exec "$root/tests/vm/run.sh" --kernel latest -- \
    env CGFENCE_QUICKSTART_STAGE=demo "$0"
fi

pins=/sys/fs/bpf/cgfence-quickstart
work=$(mktemp -d /tmp/cgfence-quickstart.XXXXXX)
cleanup() {
  runc delete -f quickstart >/dev/null 2>&1 || true
  cgfencectl --pin-dir "$pins" unload --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== kernel $(uname -r): cgfencectl load"
cgfencectl --pin-dir "$pins" load

# A busybox container, and a file that no rule of `minimal` allows.
mkdir -p "$work/bundle/rootfs"/{bin,etc,proc,dev,sys,tmp}
cp /bin/busybox "$work/bundle/rootfs/bin/"
for applet in sh cat echo ls; do ln -s busybox "$work/bundle/rootfs/bin/$applet"; done
echo 'NAME="cgfence quick start"' >"$work/bundle/rootfs/etc/os-release"
echo "a secret" >"$work/bundle/rootfs/secret.txt"
echo '{"pin_dir": "'"$pins"'", "profile_dirs": ["'"$root/packaging/profiles"'"]}' >"$work/config.json"
hook=$(command -v cgfence-hook)
cat >"$work/bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs"},
  "annotations": {"io.cgfence.profile": "minimal"},
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
    "env": ["PATH=/bin"],
    "args": ["sh", "-c", "echo started; exec sleep 600"]
  },
  "hooks": {
    "prestart": [{"path": "$hook", "args": ["cgfence-hook", "--config", "$work/config.json"]}],
    "poststop": [{"path": "$hook", "args": ["cgfence-hook", "--config", "$work/config.json"]}]
  },
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}
  ],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
}
JSON

echo "== runc run -d quickstart (profile minimal: /etc readable, /secret.txt not)"
(cd "$work/bundle" && runc run -d quickstart >/dev/null)
echo "\$ runc exec quickstart cat /etc/os-release"
runc exec quickstart cat /etc/os-release
echo "\$ runc exec quickstart cat /secret.txt"
runc exec quickstart cat /secret.txt || true
echo "\$ cat $work/bundle/rootfs/secret.txt   # outside the container: not confined"
cat "$work/bundle/rootfs/secret.txt"
echo "== cgfencectl ps (the registered containers)"
cgfencectl --pin-dir "$pins" ps
echo "== cgfencectl stats (the kernel's counters)"
cgfencectl --pin-dir "$pins" stats
echo "== cgfencectl events (what cgfence recorded)"
cgfencectl --pin-dir "$pins" events
