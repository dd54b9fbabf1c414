#!/usr/bin/env bash
# Check the test VM's environment from inside the guest:
#
#   tests/vm/run.sh --kernel K -- tests/vm/selftest.sh
#
# Prints "PASS name" or "FAIL name: why" per check; exits 1 if any check failed.

# The check functions are called through check():
# shellcheck disable=SC2317
set -euo pipefail

PROJECT_DIR=$(cd "$(dirname "$0")/../.." && pwd -P)
FAILED=0

# check NAME FUNCTION: run FUNCTION in a subshell that stops at its first failing
# command; report the last lines of its output as the reason.
check() {
    local out rc
    set +e
    out=$(set -e; "$2" 2>&1)
    rc=$?
    set -e
    if ((rc == 0)); then
        echo "PASS $1"
    else
        echo "FAIL $1: $(tail -n 3 <<<"$out" | paste -s -d ' ')"
        FAILED=1
    fi
}

die() { echo "$*"; exit 1; }

fs_type() { stat -f -c %T "$1"; }

check_environment() {
    [[ ${CGFENCE_IN_VM:-} == 1 ]] || die "CGFENCE_IN_VM is '${CGFENCE_IN_VM:-}'"
    [[ -n ${CGFENCE_VM_KERNEL:-} ]] || die "CGFENCE_VM_KERNEL is empty"
    [[ $(id -u) == 0 ]] || die "not root"
    [[ $(pwd -P) == "$PROJECT_DIR" ]] || die "cwd is $(pwd -P), not $PROJECT_DIR"
    touch "$HOME/.selftest" && rm "$HOME/.selftest"
    [[ $(cat <(echo process-substitution)) == process-substitution ]]
}

check_bpf_lsm() {
    local lsm
    lsm=$(cat /sys/kernel/security/lsm)
    [[ ,$lsm, == *,bpf,* ]] || die "no bpf in /sys/kernel/security/lsm: $lsm"
}

check_host_root_readonly() {
    local dir
    for dir in / /usr /usr/bin /etc; do
        if touch "$dir/.cgfence-selftest" 2>/dev/null; then
            rm -f "$dir/.cgfence-selftest"
            die "$dir is writable"
        fi
    done
}

check_cgroup2() {
    local cg=/sys/fs/cgroup/cgfence-selftest-$$ pid
    [[ $(fs_type /sys/fs/cgroup) == cgroup2fs ]] || die "/sys/fs/cgroup is $(fs_type /sys/fs/cgroup)"
    mkdir "$cg"
    sleep 60 >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >"$cg/cgroup.procs"
    [[ $(cat "/proc/$pid/cgroup") == "0::/${cg##*/}" ]] || die "pid $pid is in $(cat "/proc/$pid/cgroup")"
    kill "$pid"
    wait "$pid" || true
    rmdir "$cg"
}

check_cgroup2_controllers() {
    local enabled controller
    enabled=" $(cat /sys/fs/cgroup/cgroup.subtree_control) "
    for controller in cpu memory pids; do
        [[ $enabled == *" $controller "* ]] || die "$controller not in subtree_control:$enabled"
    done
}

check_bpffs() {
    [[ $(fs_type /sys/fs/bpf) == bpf_fs ]] || die "/sys/fs/bpf is $(fs_type /sys/fs/bpf)"
}

check_overlay() {
    local dir
    dir=$(mktemp -d)
    [[ $(fs_type "$dir") == tmpfs ]] || die "$dir is not on tmpfs"
    modprobe overlay
    mkdir "$dir"/{lower,upper,work,merged}
    echo lower >"$dir/lower/file"
    mount -t overlay overlay \
        -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged"
    [[ $(cat "$dir/merged/file") == lower ]] || die "merged file does not show the lower one"
    echo upper >"$dir/merged/file"
    [[ $(cat "$dir/upper/file") == upper ]] || die "no copy-up to the upper directory"
    umount "$dir/merged"
    rm -rf "$dir"
}

check_ext4_loop() {
    local dir major
    dir=$(mktemp -d)
    [[ -e /dev/loop-control ]] || modprobe loop
    truncate -s 32M "$dir/image"
    mkfs.ext4 -q -F "$dir/image"
    mkdir "$dir/mnt"
    mount -o loop "$dir/image" "$dir/mnt"
    [[ $(fs_type "$dir/mnt") == ext2/ext3 ]] || die "mounted $(fs_type "$dir/mnt"), not ext4"
    major=$(mountpoint -d "$dir/mnt" | cut -d: -f1)
    ((major != 0)) || die "the loop mount has major 0"
    echo data >"$dir/mnt/file"
    umount "$dir/mnt"
    rm -rf "$dir"
}

check_runtime_version() {
    "$1" --version | head -n 1
}
check_runc_version() { check_runtime_version runc; }
check_crun_version() { check_runtime_version crun; }

# A bundle whose container prints hello-from-container: busybox as the rootfs, and the
# config that `runc spec` writes with its args and terminal changed.
make_bundle() {
    local bundle=$1
    mkdir -p "$bundle/rootfs/bin"
    cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
    ln -s busybox "$bundle/rootfs/bin/sh"
    (cd "$bundle" && runc spec)
    sed -i -e 's/"terminal": true/"terminal": false/' \
        -e 's/^\([[:space:]]*\)"sh"$/\1"sh", "-c", "echo hello-from-container"/' \
        "$bundle/config.json"
    grep -q '"terminal": false' "$bundle/config.json" || die "could not unset terminal in config.json"
    grep -q hello-from-container "$bundle/config.json" || die "could not set args in config.json"
}

run_container() {
    local runtime=$1 bundle out
    bundle=$(mktemp -d)
    make_bundle "$bundle"
    out=$(timeout 120 "$runtime" run --bundle "$bundle" "selftest-$runtime-$$" </dev/null 2>&1) ||
        die "$runtime run failed: $out"
    [[ $out == hello-from-container ]] || die "$runtime run printed: $out"
    rm -rf "$bundle"
}
check_runc_run() { run_container runc; }
check_crun_run() { run_container crun; }

check_project_writable() {
    local probe=$PROJECT_DIR/.cgfence-selftest-$$
    [[ -f $PROJECT_DIR/tests/vm/selftest.sh ]] || die "$PROJECT_DIR/tests/vm/selftest.sh not visible"
    touch "$probe"
    rm "$probe"
}

check environment check_environment
check bpf-lsm check_bpf_lsm
check host-root-readonly check_host_root_readonly
check cgroup2 check_cgroup2
check cgroup2-controllers check_cgroup2_controllers
check bpffs check_bpffs
check overlay check_overlay
check ext4-loop check_ext4_loop
check runc-version check_runc_version
check crun-version check_crun_version
check runc-run check_runc_run
check crun-run check_crun_run
check project-writable check_project_writable

exit "$FAILED"
