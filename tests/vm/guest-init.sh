#!/bin/busybox sh
# Init of the cgfence test VM, packed into the initramfs by tests/vm/run.sh.
#
# Stage 1 (PID 1 in the initramfs, busybox only) loads the modules virtiofs needs, mounts
# the host's root (virtiofs tag cgfence-host, read-only) and builds the guest's root on
# a tmpfs: the host's top-level directories bound into it, the guest kernel's modules
# where modprobe looks, the project tree (and the build tree when it lies elsewhere)
# read-write at their host paths, and the kernel filesystems. Then it switch_roots:
# pivot_root, which runc and crun use, fails on the initramfs root of some kernels.
#
# Stage 2 (this file again, PID 1 in the new root) runs the command that run.sh left in
# its run directory (mounted at /run/cgfence), writes the command's exit status there
# and powers off.
#
# A failure in init ends PID 1, which panics the kernel; run.sh then reports that the
# guest stopped without an exit status and shows the console (ttyS0), where the error is.

# shellcheck shell=dash
# busybox ash has local and ${var//pattern/replacement}:
# shellcheck disable=SC3043,SC3060
set -eu

RUN_SHARE=/run/cgfence

stage1() {
    /bin/busybox --install -s /bin
    export PATH=/bin
    mkdir -p /proc
    mount -t proc proc /proc

    local module
    while read -r module; do
        insmod "/modules/$module"
    done </modules/order

    mkdir -p /rundir /host /newroot
    mount -t virtiofs cgfence-run /rundir
    # shellcheck source=/dev/null
    . /rundir/config
    mount -t virtiofs -o ro cgfence-host /host
    mount -t tmpfs -o mode=0755 root /newroot

    # Copy the skeleton (directories without their content, symlinks) with cpio, which
    # does not recurse, make empty files as mount points, then bind everything in one
    # mount -a: one process per step rather than per entry, which counts under TCG.
    : >/skeleton
    : >/files
    : >/fstab
    mirror ""
    (cd /host && cpio -o -H newc </skeleton) | (cd /newroot && cpio -i -d)
    xargs -0 -r touch </files
    mount -a -T /fstab

    mount -t tmpfs -o mode=1777 tmp /newroot/tmp
    mount -t tmpfs -o mode=0755 run /newroot/run
    mount -t tmpfs -o mode=0700 home /newroot/root
    if [ -d /newroot/var/tmp ]; then
        mount -t tmpfs -o mode=1777 vartmp /newroot/var/tmp
    fi

    mkdir -p "/newroot$MODULES_PARENT/modules/$KERNEL_VERSION"
    mount --bind "/host$MODULES_DIR" "/newroot$MODULES_PARENT/modules/$KERNEL_VERSION"

    mkdir -p "/newroot$PROJECT_DIR"
    mount -t virtiofs cgfence-project "/newroot$PROJECT_DIR"
    if [ "$BUILD_SHARED" = 1 ]; then
        mkdir -p "/newroot$BUILD_DIR"
        mount -t virtiofs cgfence-build "/newroot$BUILD_DIR"
    fi

    mount -t proc proc /newroot/proc
    mount -t sysfs sysfs /newroot/sys
    mount -t devtmpfs devtmpfs /newroot/dev
    mkdir -p /newroot/dev/pts /newroot/dev/shm
    # What udev would add: bash's process substitution needs /dev/fd.
    ln -s /proc/self/fd /newroot/dev/fd
    ln -s /proc/self/fd/0 /newroot/dev/stdin
    ln -s /proc/self/fd/1 /newroot/dev/stdout
    ln -s /proc/self/fd/2 /newroot/dev/stderr
    mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /newroot/dev/pts
    mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
    mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup
    mount -t bpf bpf /newroot/sys/fs/bpf
    mount -t securityfs securityfs /newroot/sys/kernel/security
    mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null || true
    mount -t tracefs tracefs /newroot/sys/kernel/tracing 2>/dev/null || true

    # Hand every controller to child cgroups; one that refuses is left out.
    local controllers controller
    read -r controllers </newroot/sys/fs/cgroup/cgroup.controllers || true
    for controller in $controllers; do
        echo "+$controller" >/newroot/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    done
    ip link set lo up
    hostname cgfence-vm

    mkdir "/newroot$RUN_SHARE"
    mount --move /rundir "/newroot$RUN_SHARE"
    cp /init /newroot/run/cgfence-init
    # Every mount point exists now: the root's own directories (/, /usr, /usr/lib)
    # become read-only like the host's, whose contents they show.
    mount -o remount,ro /newroot
    exec switch_root /newroot /bin/busybox sh /run/cgfence-init stage2
}

# mirror DIR: list how the host's DIR (a path under /, "" for / itself) is recreated in
# the new root: directories and symlinks into /skeleton; directories and files to be
# bound (read-only, as the host share is) into /fstab and, for files, /files. The
# directories on the way to MODULES_PARENT (the host's real directory behind /lib, e.g.
# /usr/lib) are recreated entry by entry instead, so that MODULES_PARENT/modules can be
# the guest kernel's. Kernel and scratch filesystems are mounted on empty directories.
# Names that start with a dot or contain a newline are left out.
mirror() {
    local entry path
    for entry in "/host$1"/*; do
        path=${entry#/host}
        case $path in *"
"*) continue ;; esac
        if [ -L "$entry" ]; then
            echo "${path#/}" >>/skeleton
            continue
        fi
        case $path in
            /proc | /sys | /dev | /run | /tmp | /root | "$MODULES_PARENT/modules")
                echo "${path#/}" >>/skeleton
                continue
                ;;
        esac
        case $MODULES_PARENT in
            "$path" | "$path"/*)
                echo "${path#/}" >>/skeleton
                mirror "$path"
                continue
                ;;
        esac
        if [ -d "$entry" ]; then
            echo "${path#/}" >>/skeleton
        elif [ -f "$entry" ]; then
            printf '%s\0' "/newroot$path" >>/files
        else
            continue # sockets, fifos, devices
        fi
        # fstab separates fields with blanks: write spaces as \040.
        echo "${entry// /\\040} /newroot${path// /\\040} none bind 0 0" >>/fstab
    done
}

stage2() {
    # shellcheck source=/dev/null
    . "$RUN_SHARE/config"
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

    # The command's output goes to the second serial port, which run.sh streams to its
    # stdout, so that kernel messages on the console (ttyS0) never mix with it. It is a
    # tty: do not turn "\n" into "\r\n".
    exec 3>/dev/ttyS1
    stty -onlcr <&3

    local uptime status=0
    read -r uptime _ </proc/uptime
    echo "$uptime" >"$RUN_SHARE/boot-seconds"
    cd "$PROJECT_DIR"
    # The command comes as NUL-separated arguments, so that any argument survives.
    # shellcheck disable=SC2016 # bash expands $1 and argv, not this shell
    env -i \
        HOME=/root \
        PATH="$BUILD_DIR/bin:$PATH" \
        TERM=dumb \
        LANG=C.UTF-8 \
        CGFENCE_IN_VM=1 \
        CGFENCE_VM_KERNEL="$KERNEL_LABEL" \
        CGFENCE_BUILD_DIR="$BUILD_DIR" \
        bash -c 'mapfile -d "" -t argv <"$1" && exec "${argv[@]}"' cgfence-command \
        "$RUN_SHARE/command" </dev/null >&3 2>&3 || status=$?

    echo "$status" >"$RUN_SHARE/status"
    sync
    # Let the serial port send what the command wrote before the machine goes away:
    # stty applies settings with TCSADRAIN, which waits until all output is sent.
    stty -onlcr <&3
    busybox poweroff -f
}

case ${1:-stage1} in
    stage1) stage1 ;;
    stage2) stage2 ;;
esac
