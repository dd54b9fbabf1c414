#!/usr/bin/env bash
# The Debian package, for real on this machine: it builds lintian-clean,
# installs into a clean state, lands its files where cgfence's contract says,
# its units pass systemd-analyze verify, podman runs the hook from its default
# hooks.d directory, removal is refused while a container is registered, and
# dpkg -r / --purge remove it all. Needs root; leaves the machine as found.
#
#   tests/packaging/deb-tests.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: deb-tests.sh BUILD_DIR}
prefix=${CGFENCE_SUITE_PREFIX:-deb}
work=$(mktemp -d /tmp/cgfence-deb-tests.XXXXXX)
pins=/sys/fs/bpf/cgfence # the package's default: this suite owns it while it runs
bpffs_was_mounted=$(stat -f -c %T /sys/fs/bpf 2>/dev/null) # "bpf_fs" when it was

pass() { echo "PASS $prefix/$1"; }
fail() { echo "FAIL $prefix/$1${2:+: $2}"; }
check() { # check NAME COMMAND...: PASS when COMMAND succeeds
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(tail -n 5 <<<"$out")"; fi
}

installed_files=(
  /usr/sbin/cgfencectl
  /usr/libexec/oci/hooks.d/cgfence-hook
  /usr/share/containers/oci/hooks.d/50-cgfence.json
  /usr/share/cgfence/profiles/minimal.json
  /usr/share/cgfence/profiles/default.json
  /usr/share/cgfence/profiles/audit.json
  /etc/cgfence/config.json
  /lib/systemd/system/cgfence-loader.service
  /lib/systemd/system/cgfence-gc.service
  /lib/systemd/system/cgfence-gc.timer
  /usr/share/man/man8/cgfencectl.8.gz
  /usr/share/man/man8/cgfence-hook.8.gz
  /usr/share/man/man5/cgfence-profile.5.gz
  /usr/share/doc/cgfence/copyright
)
units=(cgfence-loader.service cgfence-gc.service cgfence-gc.timer)

podman_here() { # podman with private storage, the default hooks directories
  podman --root "$work/podman/root" --runroot "$work/podman/runroot" --tmpdir "$work/podman/tmp" \
    --network-config-dir "$work/podman/networks" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}

cleanup() {
  podman_here rm --force --time 0 deb-test >/dev/null 2>&1
  [[ -e $pins ]] && /usr/sbin/cgfencectl unload --force >/dev/null 2>&1
  dpkg --purge cgfence >/dev/null 2>&1
  # cgfencectl load mounts bpffs at /sys/fs/bpf when no init did.
  [[ $bpffs_was_mounted != bpf_fs && $(stat -f -c %T /sys/fs/bpf) == bpf_fs ]] && umount /sys/fs/bpf
  for m in $(awk -v w="$work" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

# A clean state: this suite must not touch a real installation.
if dpkg-query -W -f='${Status}' cgfence 2>/dev/null | grep -q installed || [[ -e $pins ]]; then
  echo "FAIL $prefix/clean-state: cgfence is installed or $pins exists on this machine;" \
    "the package suite installs and removes the real package, so it runs only on a machine without it"
  exit 1
fi
for f in "${installed_files[@]}"; do
  [[ -e $f ]] && { echo "FAIL $prefix/clean-state: $f exists before the install"; exit 1; }
done

deb=$("$root/packaging/build-deb.sh" --build-dir "$build" --out "$work" 2>"$work/build.log" | tail -n 1)
if [[ ! -f $deb ]]; then
  fail builds "$(tail -n 5 "$work/build.log")"
  exit 1
fi
pass "builds ($(basename "$deb"))"
check lintian-clean lintian --fail-on error,warning "$deb"

check dpkg-install dpkg -i "$deb"
missing=()
for f in "${installed_files[@]}"; do [[ -e $f ]] || missing+=("$f"); done
if ((${#missing[@]} == 0)); then pass files-land-where-listed; else fail files-land-where-listed "missing: ${missing[*]}"; fi
check config-is-a-conffile grep -q '/etc/cgfence/config.json' <(dpkg-query -W -f='${Conffiles}' cgfence)
check units-verify systemd-analyze verify "${units[@]/#//lib/systemd/system/}"
check man-pages-found man -w cgfencectl cgfence-hook cgfence-profile
check shipped-profiles-valid /usr/sbin/cgfencectl profile check /usr/share/cgfence/profiles/*.json
check loader-unit-treats-unsupported-as-success grep -qx 'SuccessExitStatus=3' /lib/systemd/system/cgfence-loader.service

# podman, with no --hooks-dir: it must find the hooks.d file by itself.
mkdir -p "$work/podman" "$work/rootfs/bin" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/"
for applet in sh sleep cat true; do ln -s busybox "$work/rootfs/bin/$applet"; done
run_args=(run --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
  --annotation io.cgfence.profile=minimal)
out=$(podman_here "${run_args[@]}" --rm --rootfs "$work/rootfs" /bin/true 2>&1)
# crun reports only the hook's path and status (the hook's own message goes to
# syslog and stderr, which runc shows and crun does not).
if [[ $? -ne 0 && $out == *"/usr/libexec/oci/hooks.d/cgfence-hook"* ]]; then
  pass podman-runs-the-hook-from-hooks.d-and-refuses-while-not-loaded
else
  fail podman-runs-the-hook-from-hooks.d-and-refuses-while-not-loaded "podman said: $out"
fi
# Maps only (this kernel may refuse the program): enforcement is not live, so
# the admin's config must let containers start unconfined to register them.
check maps-only-load /usr/sbin/cgfencectl load --maps-only
sed -i 's/"on_unavailable": "refuse"/"on_unavailable": "allow"/' /etc/cgfence/config.json
id=$(podman_here "${run_args[@]}" --detach --name deb-test --rootfs "$work/rootfs" /bin/sleep 600 2>"$work/podman.err")
if [[ -n $id ]] && /usr/sbin/cgfencectl ps --json | grep -q "\"$id\""; then
  pass podman-container-registered-by-the-installed-hook
else
  fail podman-container-registered-by-the-installed-hook "$(cat "$work/podman.err")"
fi
out=$(dpkg -r cgfence 2>&1)
if [[ $? -ne 0 && $out == *"containers are registered"* && -x /usr/sbin/cgfencectl ]]; then
  pass removal-refused-while-a-container-is-registered
else
  fail removal-refused-while-a-container-is-registered "$out"
fi
podman_here rm --force --time 0 deb-test >/dev/null 2>&1
if [[ $(/usr/sbin/cgfencectl ps --json) == "[]" ]]; then
  pass podman-poststop-removes-the-container
else
  fail podman-poststop-removes-the-container "$(/usr/sbin/cgfencectl ps)"
fi

check dpkg-remove dpkg -r cgfence
left=()
for f in "${installed_files[@]}"; do [[ $f != /etc/* && -e $f ]] && left+=("$f"); done
[[ -e $pins ]] && left+=("$pins")
if ((${#left[@]} == 0)) && [[ -f /etc/cgfence/config.json ]]; then
  pass remove-leaves-only-the-conffile
else
  fail remove-leaves-only-the-conffile "left: ${left[*]}"
fi
check dpkg-purge dpkg --purge cgfence
left=$(find /etc/cgfence /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
  -name '*cgfence*' 2>/dev/null)
if [[ -z $left && ! -e /etc/cgfence ]]; then pass purge-leaves-nothing; else fail purge-leaves-nothing "left: $left"; fi
