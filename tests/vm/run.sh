#!/usr/bin/env bash
# Boot a Debian kernel under qemu (TCG, no KVM) and run a command as root inside it.
#
#   run.sh [--kernel LABEL] [--memory MB] [--timeout SECONDS] -- COMMAND [ARG...]
#
#   --kernel LABEL     5.10, 6.1, 6.12, sid's major.minor (e.g. 7.2) or latest (the newest
#                      cached sid kernel); default: the newest cached kernel. A kernel
#                      that is not cached yet is fetched with fetch-kernels.sh.
#   --memory MB        guest memory, default 2048
#   --timeout SECONDS  stop the guest after this long, default 1200
#
# The guest sees the host's root read-only (virtiofs; Debian's cloud kernels have no
# 9p) and the project tree read-write at the same absolute path, and so does the build
# tree when CGFENCE_BUILD_DIR puts it elsewhere. COMMAND runs as root in the project
# directory with stdin from /dev/null and this environment: HOME=/root (a tmpfs),
# PATH=<build>/bin then the standard directories, TERM=dumb, LANG=C.UTF-8,
# CGFENCE_IN_VM=1, CGFENCE_VM_KERNEL=<label>, CGFENCE_BUILD_DIR=<build>,
# CGFENCE_CACHE_DIR=<the cache dir: the container images are there>. /tmp, /run,
# /root and /var/tmp are tmpfs. Its stdout and stderr come out on run.sh's stdout (one
# serial port carries both) and nothing else does: kernel messages stay on the console,
# which run.sh shows only when the guest dies. run.sh's own messages go to stderr.
#
# Before booting, the project is built (cmake configure when <build>/CMakeCache.txt is
# missing, then cmake --build) unless CGFENCE_VM_NO_BUILD=1, and the container images
# of the runtime suite are made when missing (fetch-images.sh; the guest has no
# network and sees the host's root read-only).
#
# Environment: CGFENCE_CACHE_DIR (default /var/cache/cgfence: kernels, initramfs images,
# container images; the guest sees it only outside /tmp, /run, /root and /var/tmp),
# CGFENCE_VM_CPUS (vCPUs; default 1: see the note at the qemu call),
# CGFENCE_BUILD_DIR (default <project>/build), CGFENCE_VM_NO_BUILD.
#
# Exit status: COMMAND's; 124 when the guest timed out; 125 when the guest stopped
# without reporting one (kernel panic, init failure, qemu error; the console is shown)
# or the harness failed before booting (build, kernel fetch, missing tool); 2 for a
# usage error. Runs as root (virtiofsd) on x86_64.
set -euo pipefail

VM_DIR=$(cd "$(dirname "$0")" && pwd -P)
PROJECT_DIR=$(cd "$VM_DIR/../.." && pwd -P)
CACHE_DIR=${CGFENCE_CACHE_DIR:-/var/cache/cgfence}
BUILD_DIR=$(realpath -m "${CGFENCE_BUILD_DIR:-$PROJECT_DIR/build}")
# The C virtiofsd of Debian 12's qemu-system-common. Debian 13 ships the Rust one
# instead (package virtiofsd, /usr/libexec/virtiofsd), whose options differ.
VIRTIOFSD=/usr/lib/qemu/virtiofsd

die() { echo "run.sh: $*" >&2; exit 125; }
note() { echo "run.sh: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

parse_args() {
    KERNEL="" MEMORY=2048 TIMEOUT=1200 COMMAND=()
    while (($#)); do
        case $1 in
            --kernel) KERNEL=${2:?}; shift 2 ;;
            --memory) MEMORY=${2:?}; shift 2 ;;
            --timeout) TIMEOUT=${2:?}; shift 2 ;;
            --) shift; COMMAND=("$@"); break ;;
            *) usage ;;
        esac
    done
    ((${#COMMAND[@]})) || usage
    [[ $KERNEL =~ ^(|latest|[0-9]+\.[0-9]+)$ && $MEMORY =~ ^[0-9]+$ && $TIMEOUT =~ ^[0-9]+$ ]] ||
        usage
}

check_tools() {
    [[ $(id -u) == 0 ]] || die "must run as root (virtiofsd serves the host's files)"
    local tool
    for tool in qemu-system-x86_64 busybox cpio gzip modprobe timeout; do
        command -v "$tool" >/dev/null ||
            die "$tool not found (Debian packages: qemu-system-x86 busybox-static cpio kmod)"
    done
    [[ -x $VIRTIOFSD ]] || die "$VIRTIOFSD not found (Debian 12 package: qemu-system-common)"
}

build_project() {
    [[ ${CGFENCE_VM_NO_BUILD:-0} == 1 ]] && return
    if [[ ! -f $PROJECT_DIR/CMakeLists.txt ]]; then
        note "no CMakeLists.txt in $PROJECT_DIR: nothing to build"
        return
    fi
    # Build output goes to stderr: stdout is the guest command's.
    if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
        cmake -S "$PROJECT_DIR" -B "$BUILD_DIR" >&2 || die "cmake could not configure $BUILD_DIR"
    fi
    cmake --build "$BUILD_DIR" -j2 >&2 || die "the build in $BUILD_DIR failed"
}

# Sets KERNEL_LABEL, KERNEL_DIR, KERNEL_VERSION from --kernel, fetching when needed.
resolve_kernel() {
    local fetch=$VM_DIR/fetch-kernels.sh
    # fetch-kernels.sh --list prints "LABEL VERSION SUITE", oldest first.
    # shellcheck disable=SC2016 # an awk program
    local pick='want == "" || (want == "latest" && $3 == "sid") || $1 == want { label = $1 }
                END { print label }'
    KERNEL_LABEL=$("$fetch" --list | awk -v want="$KERNEL" "$pick")
    if [[ -z $KERNEL_LABEL ]]; then
        "$fetch" "${KERNEL:-latest}" >&2 || die "could not fetch kernel ${KERNEL:-latest}"
        KERNEL_LABEL=$("$fetch" --list | awk -v want="$KERNEL" "$pick")
        [[ -n $KERNEL_LABEL ]] || die "kernel ${KERNEL:-latest} is not in the cache after fetching"
    fi
    KERNEL_DIR=$CACHE_DIR/kernels/$KERNEL_LABEL
    KERNEL_VERSION=$(cat "$KERNEL_DIR/kernel-version")
}

# The tests that need a container image fail without it, each saying so; the rest run.
fetch_images() {
    "$VM_DIR/fetch-images.sh" >"$RUN_TMP/fetch-images.log" 2>&1 ||
        note "no container images ($(tail -n 1 "$RUN_TMP/fetch-images.log")): the tests that run them will fail"
}

# Prints the initramfs for the kernel: busybox, guest-init.sh as /init, and the modules
# that virtiofs needs, decompressed for busybox's insmod. Cached per kernel version and
# content of guest-init.sh and busybox.
initramfs() {
    local busybox hash dir out work ko name
    busybox=$(command -v busybox)
    hash=$(cat "$VM_DIR/guest-init.sh" "$busybox" | sha256sum | cut -c1-16)
    dir=$CACHE_DIR/initramfs
    out=$dir/$KERNEL_VERSION-$hash.cpio.gz
    if [[ ! -f $out ]]; then
        work=$RUN_TMP/initramfs
        mkdir -p "$dir" "$work/bin" "$work/modules"
        cp "$busybox" "$work/bin/busybox"
        install -m 0755 "$VM_DIR/guest-init.sh" "$work/init"
        touch "$work/modules/order"
        # Built-in modules are left out: modprobe prints them as "builtin NAME".
        for ko in $(modprobe -a -d "$KERNEL_DIR" -S "$KERNEL_VERSION" --show-depends virtio_pci virtiofs |
            awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
            name=$(basename "$ko")
            name=${name%%.ko*}.ko
            case $ko in
                *.ko.xz) xz -dc "$ko" ;;
                *.ko.zst) zstd -dc "$ko" ;;
                *.ko.gz) gzip -dc "$ko" ;;
                *) cat "$ko" ;;
            esac >"$work/modules/$name"
            echo "$name" >>"$work/modules/order"
        done
        (cd "$work" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.$$"
        rm -f "$dir/$KERNEL_VERSION"-*.cpio.gz
        mv "$out.$$" "$out"
    fi
    echo "$out"
}

# share TAG DIR CACHE: serve DIR to the guest as virtiofs TAG. sandbox=chroot works
# inside containers too; --rlimit-nofile=0 keeps the open-files limit, since raising it
# needs CAP_SYS_RESOURCE, which containers may lack.
share() {
    local tag=$1 sock=$RUN_TMP/$1.sock
    "$VIRTIOFSD" --socket-path="$sock" -o source="$2" -o cache="$3" -o sandbox=chroot \
        --rlimit-nofile=0 </dev/null >"$RUN_TMP/$tag.log" 2>&1 &
    VIRTIOFSD_PIDS+=($!)
    QEMU_ARGS+=(-chardev "socket,id=$tag,path=${sock//,/,,}"
        -device "vhost-user-fs-pci,chardev=$tag,tag=$tag")
    SOCKETS+=("$sock")
}

wait_for_sockets() {
    local sock tries
    for sock in "${SOCKETS[@]}"; do
        for ((tries = 0; tries < 200; tries++)); do
            [[ -S $sock ]] && continue 2
            sleep 0.05
        done
        cat "$RUN_TMP"/*.log >&2
        die "virtiofsd did not create $sock"
    done
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    # qemu first (through timeout, which passes the signal on): it talks to virtiofsd
    # until it exits.
    if [[ -n $QEMU_PID ]]; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    for pid in "${VIRTIOFSD_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$RUN_TMP"
}

main() {
    parse_args "$@"
    check_tools
    build_project
    resolve_kernel

    VIRTIOFSD_PIDS=() QEMU_ARGS=() SOCKETS=() QEMU_PID=""
    RUN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cgfence-vm.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # The run directory the guest sees at /run/cgfence: config and command in, status out.
    local run_share=$RUN_TMP/share build_shared=0 modules_parent
    mkdir "$run_share"
    case $BUILD_DIR/ in
        "$PROJECT_DIR"/*) ;;
        *) [[ -d $BUILD_DIR ]] && build_shared=1 ;;
    esac
    modules_parent=$(realpath /lib)
    {
        printf '%s=%q\n' \
            KERNEL_LABEL "$KERNEL_LABEL" \
            KERNEL_VERSION "$KERNEL_VERSION" \
            MODULES_DIR "$(realpath "$KERNEL_DIR/lib/modules/$KERNEL_VERSION")" \
            MODULES_PARENT "$modules_parent" \
            PROJECT_DIR "$PROJECT_DIR" \
            BUILD_DIR "$BUILD_DIR" \
            BUILD_SHARED "$build_shared"
    } >"$run_share/config"
    # The guest's environment is guest-init.sh's; the cache dir is added here.
    printf '%s\0' env "CGFENCE_CACHE_DIR=$CACHE_DIR" "${COMMAND[@]}" >"$run_share/command"
    fetch_images

    # The host's root does not change during the run (the build is done): let the guest
    # cache it for good. The read-write trees keep the default coherence.
    share cgfence-host / always
    share cgfence-run "$run_share" auto
    share cgfence-project "$PROJECT_DIR" auto
    if ((build_shared)); then
        share cgfence-build "$BUILD_DIR" auto
    fi
    wait_for_sockets

    local append="console=ttyS0 quiet loglevel=1 panic=-1"
    # 5.10's default LSM list lacks bpf; 6.1 and later have it.
    if ! grep -q '^CONFIG_LSM=.*bpf' "$KERNEL_DIR/config"; then
        append+=" lsm=lockdown,capability,yama,apparmor,bpf"
    fi

    # One vCPU unless CGFENCE_VM_CPUS says otherwise: qemu 7.2's TCG with two
    # vCPUs runs stale code after another vCPU patched it. Seen: a detached BPF
    # trampoline kept denying on one vCPU (7.2), a boot died in a half-patched
    # static key (7.2), and an "Oops: int3" in bpf_lsm_file_open while an
    # upgrade re-patched its trampoline (6.12). Real CPUs serialise text_poke.
    local cpus=${CGFENCE_VM_CPUS:-1}

    local initrd start status rc=0
    initrd=$(initramfs)
    note "booting $KERNEL_LABEL ($KERNEL_VERSION, $cpus vCPU)"
    start=$EPOCHREALTIME
    # vhost-user (virtiofsd) needs the guest's memory in a shared memory object.
    # The kernel console (ttyS0) goes to a file, shown only when the guest dies; the
    # command's output comes on ttyS1. -display none rather than -nographic, which
    # would make SeaBIOS print its banner and terminal resets on the serial port.
    timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
        -accel tcg -cpu max -smp "$cpus" -m "$MEMORY" \
        -object "memory-backend-memfd,id=mem,size=${MEMORY}M,share=on" \
        -machine memory-backend=mem \
        -kernel "$KERNEL_DIR/vmlinuz" -initrd "$initrd" -append "$append" \
        -display none -vga none -no-reboot -nic none -monitor none \
        -serial "file:$RUN_TMP/console.log" -serial stdio \
        "${QEMU_ARGS[@]}" </dev/null &
    QEMU_PID=$!
    wait "$QEMU_PID" || rc=$?
    QEMU_PID=""

    local elapsed boot
    elapsed=$(awk -v start="$start" -v end="$EPOCHREALTIME" 'BEGIN { printf "%.1f", end - start }')
    if [[ -f $run_share/status ]]; then
        status=$(cat "$run_share/status")
        boot=$(cat "$run_share/boot-seconds")
        note "$KERNEL_LABEL: exit status $status; command started $boot s after kernel start, $elapsed s in all"
        exit "$status"
    fi
    if ((rc == 124)); then
        note "$KERNEL_LABEL: timed out after $TIMEOUT s"
        exit 124
    fi
    tr -d "\r" <"$RUN_TMP/console.log" | cat -v >&2
    die "$KERNEL_LABEL: the guest stopped without reporting an exit status (qemu exit code $rc; a kernel panic or failing init prints its reason above)"
}

main "$@"
