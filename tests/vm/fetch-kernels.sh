#!/usr/bin/env bash
# Fetch Debian cloud kernels for the VM test harness (tests/vm/run.sh).
#
#   fetch-kernels.sh [LABEL...]   fetch kernels; LABEL is 5.10, 6.1, 6.12, latest
#                                 (newest kernel in sid) or sid's major.minor (e.g. 7.2);
#                                 default: all four
#   fetch-kernels.sh --list       print "LABEL KERNEL-VERSION SUITE" per cached kernel,
#                                 oldest first
#
# Cache: ${CGFENCE_CACHE_DIR:-/var/cache/cgfence}/kernels/<label>/ holds vmlinuz, config,
# lib/modules/<version>/ (with modules.dep), kernel-version, suite, and a .complete stamp
# written last: a label without the stamp is fetched again. A complete label is never
# refetched, except that `latest` always asks sid for its newest kernel.
#
# Packages come from the Debian mirror the machine's own apt sources name, through a
# private apt configuration per suite under <cache>/apt/<suite>/; the machine's apt
# sources, lists and cache are left alone. Release files are verified with the machine's
# debian-archive-keyring.
set -euo pipefail

CACHE_DIR=${CGFENCE_CACHE_DIR:-/var/cache/cgfence}
KERNELS_DIR=$CACHE_DIR/kernels
APT_DIR=$CACHE_DIR/apt
HOST_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SUITES=(bullseye bookworm trixie sid)   # oldest first: see update_verified

# shellcheck source=tests/vm/debian-mirror.sh
. "$(dirname "$0")/debian-mirror.sh"

die() { echo "fetch-kernels: $*" >&2; exit 1; }
log() { echo "fetch-kernels: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

suite_of_label() {
    case $1 in
        5.10) echo bullseye ;;
        6.1) echo bookworm ;;
        6.12) echo trixie ;;
        *) echo sid ;;
    esac
}

# Sets APT_OPTS: apt options that confine apt to SUITE's private directory.
set_apt_opts() {
    local dir=$APT_DIR/$1
    APT_OPTS=(
        -o "Dir::Etc::sourcelist=$dir/sources.list"
        -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::Etc::preferences=$dir/preferences"
        -o "Dir::Etc::preferencesparts=$dir/preferences.d"
        -o "Dir::State::Lists=$dir/lists"
        -o Dir::State::status=/dev/null
        -o "Dir::Cache=$dir/cache"
        -o APT::Architectures=amd64
        -o Acquire::Languages=none
        # The private directories belong to the caller, not to apt's sandbox user _apt.
        -o APT::Sandbox::User=root
    )
}

# update_suite SUITE KEYRING: refresh SUITE's private package lists, verified with KEYRING.
update_suite() {
    local suite=$1 keyring=$2 dir=$APT_DIR/$1
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/preferences.d"
    echo "deb [signed-by=$keyring] $MIRROR $suite main" >"$dir/sources.list"
    set_apt_opts "$suite"
    # --error-on=any: a signature apt cannot verify is an error, not a warning.
    apt-get "${APT_OPTS[@]}" -q --error-on=any update >"$dir/update.log" 2>&1
}

# update_verified SUITE: refresh SUITE's lists with the machine's keyring or, when that
# lacks SUITE's signing key, with debian-archive-keyring taken from the next older suite
# (itself verified the same way).
update_verified() {
    local suite=$1 older="" s keyring_dir
    update_suite "$suite" "$HOST_KEYRING" && return
    for s in "${SUITES[@]}"; do
        [[ $s == "$suite" ]] && break
        older=$s
    done
    [[ -n $older ]] || die "cannot verify $suite with $HOST_KEYRING: see $APT_DIR/$suite/update.log"
    log "$suite: $HOST_KEYRING lacks its key, using debian-archive-keyring from $older"
    update_verified "$older"
    keyring_dir=$APT_DIR/$older/keyring
    rm -rf "$keyring_dir" && mkdir -p "$keyring_dir"
    set_apt_opts "$older"
    (cd "$keyring_dir" && apt-get "${APT_OPTS[@]}" -q download debian-archive-keyring >/dev/null)
    dpkg-deb -x "$keyring_dir"/debian-archive-keyring_*.deb "$keyring_dir/root"
    update_suite "$suite" "$keyring_dir/root/usr/share/keyrings/debian-archive-keyring.gpg" ||
        die "cannot verify $suite: see $APT_DIR/$suite/update.log"
}

# The versioned kernel package behind SUITE's linux-image-cloud-amd64, minus "linux-image-".
kernel_version_in() {
    set_apt_opts "$1"
    apt-cache "${APT_OPTS[@]}" depends linux-image-cloud-amd64 |
        sed -n 's/^ *Depends: linux-image-\([0-9].*-cloud-amd64\)$/\1/p' | head -n1
}

# fetch_label LABEL: make KERNELS_DIR/<label> complete (LABEL as given on the command line).
fetch_label() {
    local want=$1 suite version label dest stage pkg pkgs moddir f
    suite=$(suite_of_label "$want")
    if [[ $suite != sid && -e $KERNELS_DIR/$want/.complete ]]; then
        log "$want: cached ($(cat "$KERNELS_DIR/$want/kernel-version"))"
        return
    fi

    update_verified "$suite"
    version=$(kernel_version_in "$suite")
    [[ -n $version ]] || die "$suite: linux-image-cloud-amd64 names no versioned kernel package"
    label=$(echo "$version" | cut -d. -f1,2)
    case $want in
        latest) ;;
        *) [[ $label == "$want" ]] || die "$want: $suite's cloud kernel is $version (label $label)" ;;
    esac
    dest=$KERNELS_DIR/$label
    if [[ -e $dest/.complete && $(cat "$dest/kernel-version") == "$version" ]]; then
        log "$label: cached ($version)"
        return
    fi

    log "$label: fetching $version from $suite"
    stage=$KERNELS_DIR/.$label.partial
    rm -rf "$stage" "$dest"
    mkdir -p "$stage/debs" "$stage/root" "$dest/lib/modules"
    # On sid linux-image-<version> is a stub whose kernel, modules and config live in
    # dependencies named after the version (linux-binary-, linux-modules-, linux-base-).
    set_apt_opts "$suite"
    pkgs=("linux-image-$version")
    while read -r pkg; do
        pkgs+=("$pkg")
    done < <(apt-cache "${APT_OPTS[@]}" depends "linux-image-$version" |
        sed -n 's/^ *|\{0,1\}Depends: \([^<].*\)$/\1/p' | grep -F -- "$version" || true)
    (cd "$stage/debs" && apt-get "${APT_OPTS[@]}" -q download "${pkgs[@]}" >/dev/null)
    for pkg in "$stage"/debs/*.deb; do
        dpkg-deb -x "$pkg" "$stage/root"
    done

    # bullseye to trixie: boot/vmlinuz-<version>, boot/config-<version>, lib/modules/;
    # sid: all of them in usr/lib/modules/<version>/.
    moddir=$stage/root/lib/modules/$version
    if [[ ! -d $moddir ]]; then
        moddir=$stage/root/usr/lib/modules/$version
    fi
    [[ -d $moddir ]] || die "$label: no lib/modules/$version in ${pkgs[*]}"
    for f in "$stage/root/boot/vmlinuz-$version" "$moddir/vmlinuz"; do
        if [[ -f $f ]]; then mv "$f" "$dest/vmlinuz"; fi
    done
    for f in "$stage/root/boot/config-$version" "$moddir/config"; do
        if [[ -f $f ]]; then mv "$f" "$dest/config"; fi
    done
    [[ -f $dest/vmlinuz && -f $dest/config ]] || die "$label: no vmlinuz or config in ${pkgs[*]}"
    mv "$moddir" "$dest/lib/modules/$version"
    depmod -b "$dest" "$version"
    [[ -f $dest/lib/modules/$version/modules.dep ]] ||
        die "$label: depmod wrote no $dest/lib/modules/$version/modules.dep"
    rm -rf "$stage"

    echo "$version" >"$dest/kernel-version"
    echo "$suite" >"$dest/suite"
    touch "$dest/.complete"
    log "$label: $version ready in $dest"
}

list_kernels() {
    local stamp dir
    for stamp in "$KERNELS_DIR"/*/.complete; do
        [[ -e $stamp ]] || continue
        dir=${stamp%/.complete}
        echo "${dir##*/} $(cat "$dir/kernel-version") $(cat "$dir/suite")"
    done | sort -V
}

main() {
    case ${1:-} in
        --list) list_kernels; return ;;
        -h | --help) usage ;;
    esac
    local labels=("$@") label
    ((${#labels[@]})) || labels=(5.10 6.1 6.12 latest)
    for label in "${labels[@]}"; do
        [[ $label =~ ^(latest|[0-9]+\.[0-9]+)$ ]] || usage
    done
    MIRROR=$(debian_mirror) || die "cannot fetch without a Debian mirror"
    mkdir -p "$KERNELS_DIR" "$APT_DIR"
    # One fetch at a time: concurrent runs (run.sh for two kernels) share the cache.
    exec 9>"$CACHE_DIR/.fetch.lock"
    flock 9
    for label in "${labels[@]}"; do
        fetch_label "$label"
    done
}

main "$@"
