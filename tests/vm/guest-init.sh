#!/bin/busybox sh
# Init of the cgfence test VM, packed into the initramfs by tests/vm/run.sh.
#
# Stage 1 (PID 1 in the initramfs) loads the virtio/virtiofs modules, mounts the host's
# root (virtiofs tag cgfence-host, read-only), builds the guest's root on a tmpfs whose
# system directories are bind mounts of the host's, mounts the project tree (and the
# build tree when it lies elsewhere) read-write at their host paths, and switch_roots.
# A tmpfs root is needed because pivot_root, which runc and crun use, fails on the
# initramfs root of some kernels.
#
# Stage 2 (this file again, run from the new root) mounts the kernel filesystems, runs
# the command that run.sh left in its run directory (mounted at /run/cgfence) and
# writes the command's exit status there before powering off.
#
# Any failure ends init, which panics the kernel; run.sh then reports that the guest
# stopped without an exit status.
set -eu

RUN_SHARE=/run/cgfence

stage1() {
    /bin/busybox --install -s /bin
    export PATH=/bin
    mkdir -p /proc; mount -t proc proc /proc
    mark() { echo "T $(cut -d' ' -f1 /proc/uptime) $*" >>/rundir/marks; }

    # The modules that virtiofs needs on this kernel, in dependency order (may be none).
    local module
    for module in $(cat /modules/order); do
        insmod "/modules/$module"
    done

    mkdir -p /rundir /host /newroot
    mount -t virtiofs cgfence-run /rundir
    . /rundir/config
    mark modules-loaded
    mount -t virtiofs -o ro cgfence-host /host
    mount -t tmpfs -o mode=0755 root /newroot
    mark before-mirror
    mirror ""
    mark after-mirror

    mount -t tmpfs -o mode=1777 tmp /newroot/tmp
    mount -t tmpfs -o mode=0755 run /newroot/run
    mount -t tmpfs -o mode=0700 home /newroot/root
    if [ -d /newroot/var/tmp ]; then
        mount -t tmpfs -o mode=1777 vartmp /newroot/var/tmp
    fi

    # The kernel's own modules where modprobe looks for them (MODULES_PARENT is the
    # host's real directory behind /lib, e.g. /usr/lib, which mirror did not bind).
    mkdir -p "/newroot$MODULES_PARENT/modules/$KERNEL_VERSION"
    mount --bind "/host$MODULES_DIR" "/newroot$MODULES_PARENT/modules/$KERNEL_VERSION"

    mkdir -p "/newroot$PROJECT_DIR"
    mount -t virtiofs cgfence-project "/newroot$PROJECT_DIR"
    if [ "$BUILD_SHARED" = 1 ]; then
        mkdir -p "/newroot$BUILD_DIR"
        mount -t virtiofs cgfence-build "/newroot$BUILD_DIR"
    fi

    mkdir "/newroot$RUN_SHARE"
    mount --move /rundir "/newroot$RUN_SHARE"
    cp /init /newroot/run/cgfence-init
    mark switch
    exec switch_root /newroot /bin/busybox sh /run/cgfence-init stage2
}

# mirror DIR: recreate the host's DIR (a path under /, "" for / itself) in the new root:
# symlinks as symlinks, directories and files as bind mounts of the host's (read-only,
# as the host share is). The directories on the way to MODULES_PARENT are recreated
# entry by entry instead, so that MODULES_PARENT/modules can be the guest kernel's.
# Entries whose names start with a dot are left out.
mirror() {
    local entry path
    for entry in "/host$1"/*; do
        path=${entry#/host}
        if [ -L "$entry" ]; then
            ln -s "$(readlink "$entry")" "/newroot$path"
            continue
        fi
        case $path in
            /proc | /sys | /dev | /run | /tmp | /root | "$MODULES_PARENT/modules")
                mkdir "/newroot$path"
                continue
                ;;
        esac
        case $MODULES_PARENT in
            "$path" | "$path"/*)
                mkdir "/newroot$path"
                mirror "$path"
                continue
                ;;
        esac
        if [ -d "$entry" ]; then
            mkdir "/newroot$path"
        elif [ -f "$entry" ]; then
            touch "/newroot$path"
        else
            continue # sockets, fifos, devices
        fi
        mount --bind "$entry" "/newroot$path"
    done
}

stage2() {
    . "$RUN_SHARE/config"
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    mkdir -p /dev/pts /dev/shm
    mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
    mount -t tmpfs -o mode=1777 shm /dev/shm
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mount -t bpf bpf /sys/fs/bpf
    mount -t securityfs securityfs /sys/kernel/security
    mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
    mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true

    # Hand every controller to child cgroups; some may refuse (e.g. with processes
    # in the root), which is fine.
    local controller
    for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    done

    echo "T $(cut -d' ' -f1 /proc/uptime) stage2-mounted" >>/run/cgfence/marks
    busybox ip link set lo up
    busybox hostname cgfence-vm
    # The command's output goes to the second serial port, which run.sh streams to its
    # stdout, so that kernel messages on the console (ttyS0) never mix with it. It is a
    # tty: do not turn "\n" into "\r\n".
    exec 3>/dev/ttyS1
    stty -onlcr <&3

    cut -d' ' -f1 /proc/uptime >"$RUN_SHARE/boot-seconds"
    cd "$PROJECT_DIR"
    # The command comes as NUL-separated arguments, so that any argument survives.
    local status=0
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
