#!/bin/sh
# The cgfence DaemonSet's entry point: installs the hook, the hooks.d entry
# and the profiles on the node (its root mounted at $HOST_ROOT), loads cgfence
# into the node's bpffs, then removes stale policies every 15 minutes.
#
#   install-on-node.sh [--once]     --once: install and load, then exit
#
# Fails loudly (the pod crash-loops with the reason in its log) when the hook
# cannot run on the node, rather than leaving a hook that would stop every
# container there. A kernel without BPF LSM is reported, not fatal: the
# node's /etc/cgfence/config.json (on_unavailable) decides what containers
# with a profile do.
set -eu
host=${HOST_ROOT:-/host}
pins=${CGFENCE_PIN_DIR:-/sys/fs/bpf/cgfence}
gc_seconds=${CGFENCE_GC_SECONDS:-900}
share=${CGFENCE_SHARE:-/usr/share/cgfence}
hook=${CGFENCE_HOOK:-/usr/libexec/oci/hooks.d/cgfence-hook}
hooks_json=${CGFENCE_HOOKS_JSON:-/usr/share/containers/oci/hooks.d/50-cgfence.json}
config=${CGFENCE_CONFIG:-/etc/cgfence/config.json}

say() { echo "cgfence-node: $*"; }

# Copy to a temporary name and rename: a runtime never sees half a hook.
install_file() { # install_file SOURCE DEST MODE
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.cgfence-new"
  chmod "$3" "$2.cgfence-new"
  mv -f "$2.cgfence-new" "$2"
}

install_file "$hook" "$host/usr/libexec/oci/hooks.d/cgfence-hook" 0755
if ! chroot "$host" /usr/libexec/oci/hooks.d/cgfence-hook --help >/dev/null 2>&1; then
  rm -f "$host/usr/libexec/oci/hooks.d/cgfence-hook"
  say "error: the hook does not run on this node (a dynamically linked build?);" \
    "the image must carry a hook built with -DCGFENCE_STATIC_HOOK=ON. Nothing installed."
  exit 1
fi
mkdir -p "$host/usr/share/cgfence/profiles" "$host/etc/cgfence/profiles"
for profile in "$share"/profiles/*.json; do
  install_file "$profile" "$host/usr/share/cgfence/profiles/$(basename "$profile")" 0644
done
# The node's config is the admin's: written only when there is none.
[ -e "$host/etc/cgfence/config.json" ] ||
  install_file "$config" "$host/etc/cgfence/config.json" 0644
# Last, the entry that makes CRI-O run the hook.
install_file "$hooks_json" "$host/usr/share/containers/oci/hooks.d/50-cgfence.json" 0644
say "installed the hook, the hooks.d entry and the profiles"

status=0
cgfencectl --pin-dir "$pins" load || status=$?
case $status in
0) say "enforcement is live (cgfencectl status shows it)" ;;
3) say "warning: this node's kernel does not run BPF LSM programs (above): no enforcement here" ;;
*) say "error: cgfencectl load failed with status $status"; exit 1 ;;
esac

[ "${1:-}" = --once ] && exit 0
while :; do
  sleep "$gc_seconds" &
  wait $! || exit 0
  [ -e "$pins/maps/policies" ] && cgfencectl --pin-dir "$pins" gc || true
done
