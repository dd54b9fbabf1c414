#!/usr/bin/env bash
# Make the container images the runtime suite runs, once, and print their paths.
#
#   fetch-images.sh           make what is missing; print the path of each image
#   fetch-images.sh --path    print the paths only (made or not), nothing is made
#
# One image today: a Debian bookworm root made with `debootstrap --variant=minbase`
# (bash, coreutils and the rest of Debian's required packages, plus python3-minimal and
# procps), as a plain tar of the root for `podman import` or extraction:
#
#   ${CGFENCE_CACHE_DIR:-/var/cache/cgfence}/images/debian-bookworm-minbase.tar
#
# beside a stamp, debian-bookworm-minbase.stamp, that holds the recipe the tar was made
# with and is written last: an image whose stamp is missing or names another recipe is
# made again; otherwise nothing is fetched (a cached run takes milliseconds). The
# packages come from the Debian mirror the machine's own apt sources name, verified
# with the machine's debian-archive-keyring. Needs root (debootstrap), and the network
# only when the image is made.
set -euo pipefail

CACHE_DIR=${CGFENCE_CACHE_DIR:-/var/cache/cgfence}
IMAGES_DIR=$CACHE_DIR/images
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
NAME=debian-bookworm-minbase
SUITE=bookworm
INCLUDE=python3-minimal,procps
# What makes the image what it is: change it and every cache makes the image again.
RECIPE="debootstrap --variant=minbase --include=$INCLUDE $SUITE; slimmed 1"

# shellcheck source=tests/vm/debian-mirror.sh
. "$(dirname "$0")/debian-mirror.sh"

die() { echo "fetch-images: $*" >&2; exit 1; }
log() { echo "fetch-images: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

# Leaves out what container images leave out: documentation, translations, apt's
# package lists and downloaded packages, logs, device nodes (runtimes give /dev), and
# the build machine's name and resolver.
slim() {
    local root=${1:?}
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
        "$root"/var/cache/debconf/*-old "$root"/var/log/* "${root:?}"/dev/*
    echo localhost >"$root/etc/hostname"
    : >"$root/etc/resolv.conf"
}

make_image() {
    local mirror stage start
    [[ $(id -u) == 0 ]] || die "must run as root (debootstrap)"
    command -v debootstrap >/dev/null || die "debootstrap not found (Debian package debootstrap)"
    mirror=$(debian_mirror) || die "cannot make $NAME without a Debian mirror"
    start=$EPOCHREALTIME
    stage=$IMAGES_DIR/.$NAME.partial
    # A stage left by an interrupted run may hold debootstrap's mounts (proc, sys).
    if [[ -d $stage ]]; then
        findmnt -rn -o TARGET | grep -F "$stage/" | sort -r | xargs -r umount -l
        rm -rf "$stage"
    fi
    mkdir -p "$stage"
    log "making $NAME from $mirror (debootstrap, a few minutes)"
    if ! debootstrap --variant=minbase --include="$INCLUDE" --keyring="$KEYRING" \
        "$SUITE" "$stage/root" "$mirror" >"$stage/debootstrap.log" 2>&1; then
        tail -n 20 "$stage/debootstrap.log" >&2
        die "debootstrap failed (log: $stage/debootstrap.log)"
    fi
    slim "$stage/root"
    tar --numeric-owner --sort=name -C "$stage/root" -cf "$stage/$NAME.tar" .
    mv "$stage/$NAME.tar" "$IMAGES_DIR/$NAME.tar"
    echo "$RECIPE" >"$IMAGES_DIR/$NAME.stamp"
    rm -rf "$stage"
    log "$NAME ready: $(du -m "$IMAGES_DIR/$NAME.tar" | cut -f1) MiB in $(
        awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }') s"
}

main() {
    case ${1:-} in
        --path) echo "$IMAGES_DIR/$NAME.tar"; return ;;
        "") ;;
        *) usage ;;
    esac
    mkdir -p "$IMAGES_DIR"
    # One maker at a time (the kernels' lock); readers see the tar only once it is whole (mv).
    exec 9>"$CACHE_DIR/.fetch.lock"
    flock 9
    if [[ -f $IMAGES_DIR/$NAME.tar && $(cat "$IMAGES_DIR/$NAME.stamp" 2>/dev/null) == "$RECIPE" ]]; then
        log "$NAME: cached"
    else
        make_image
    fi
    echo "$IMAGES_DIR/$NAME.tar"
}

main "$@"
