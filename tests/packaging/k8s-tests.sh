#!/usr/bin/env bash
# The Kubernetes path: the DaemonSet manifest validated against what the
# README says, and the node installer run for real against a scratch node
# root, with a statically linked hook (what the image carries) and with a
# dynamically linked one (refused: it might not run on the node).
#
#   tests/packaging/k8s-tests.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: k8s-tests.sh BUILD_DIR}
prefix=${CGFENCE_SUITE_PREFIX:-k8s}
work=$(mktemp -d /tmp/cgfence-k8s-tests.XXXXXX)
trap 'umount -l "$work/bpf" 2>/dev/null; rm -rf "$work"' EXIT

pass() { echo "PASS $prefix/$1"; }
fail() { echo "FAIL $prefix/$1${2:+: $2}"; }

python3 "$root/tests/packaging/check_manifest.py" \
  "$root/packaging/kubernetes/cgfence-daemonset.yaml" "$root/README.md" "$prefix"

# The image's hook: linked statically (CGFENCE_STATIC_HOOK), only the hook built.
if ! { cmake -S "$root" -B "$work/build-static" -DCGFENCE_STATIC_HOOK=ON -DCGFENCE_BUILD_TESTS=OFF &&
  cmake --build "$work/build-static" -j"$(nproc)" --target cgfence-hook; } >"$work/static.log" 2>&1; then
  fail static-hook-builds "$(tail -n 5 "$work/static.log")"
  exit 1
fi
if ! readelf -l "$work/build-static/bin/cgfence-hook" | grep -q 'program interpreter'; then
  pass static-hook-builds-with-no-shared-library
else
  fail static-hook-builds-with-no-shared-library "it asks for a dynamic loader"
fi

mkdir -p "$work/bpf"
mount -t bpf bpf "$work/bpf"
installer() { # installer NODE_ROOT HOOK: the DaemonSet's entry point, once
  env PATH="$build/bin:$PATH" HOST_ROOT="$1" CGFENCE_HOOK="$2" CGFENCE_PIN_DIR="$work/bpf/cgfence" \
    CGFENCE_SHARE="$root/packaging" CGFENCE_CONFIG="$root/packaging/etc/config.json" \
    CGFENCE_HOOKS_JSON="$root/packaging/hooks.d/50-cgfence.json" \
    "$root/packaging/kubernetes/install-on-node.sh" --once
}

# A node without the image's libraries: a dynamic hook must not be left there.
mkdir -p "$work/node-a"
out=$(installer "$work/node-a" "$build/bin/cgfence-hook" 2>&1)
if [[ $? -ne 0 && $out == *"does not run on this node"* && -z $(find "$work/node-a" -type f) ]]; then
  pass installer-refuses-a-hook-that-cannot-run-on-the-node
else
  fail installer-refuses-a-hook-that-cannot-run-on-the-node "$out"
fi

mkdir -p "$work/node-b/etc/cgfence"
echo '{"default_profile": "minimal"}' >"$work/node-b/etc/cgfence/config.json"
out=$(installer "$work/node-b" "$work/build-static/bin/cgfence-hook" 2>&1)
status=$?
node=$work/node-b
if [[ $status -eq 0 && -x $node/usr/libexec/oci/hooks.d/cgfence-hook &&
  -f $node/usr/share/containers/oci/hooks.d/50-cgfence.json &&
  -f $node/usr/share/cgfence/profiles/minimal.json ]] &&
  cmp -s "$node/usr/share/containers/oci/hooks.d/50-cgfence.json" "$root/packaging/hooks.d/50-cgfence.json"; then
  pass installer-installs-hook-hooks.d-entry-and-profiles
else
  fail installer-installs-hook-hooks.d-entry-and-profiles "status $status: $out"
fi
if grep -q '"default_profile": "minimal"' "$node/etc/cgfence/config.json"; then
  pass installer-keeps-the-nodes-config
else
  fail installer-keeps-the-nodes-config "$(cat "$node/etc/cgfence/config.json")"
fi
# This machine's kernel may refuse BPF LSM: then the installer says so and
# goes on; where it runs them, cgfence is loaded.
if [[ $out == *"does not run BPF LSM programs"* || $out == *"enforcement is live"* ]] &&
  [[ -e $work/bpf/cgfence || $out == *"does not run BPF LSM"* ]]; then
  pass installer-loads-or-reports-an-unsupported-kernel
else
  fail installer-loads-or-reports-an-unsupported-kernel "$out"
fi
"$build/bin/cgfencectl" --pin-dir "$work/bpf/cgfence" unload --force >/dev/null 2>&1 || true
