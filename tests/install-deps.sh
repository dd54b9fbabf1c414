#!/usr/bin/env bash
# Installs every build and test dependency of cgfence from Debian's archive.
# Idempotent: installs only what is missing. Needs root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev doctest-dev clang-format clang-tidy ccache
  # tests: libFuzzer and clang's sanitizer runtimes (only recommended by clang)
  libclang-rt-14-dev
  # tests: the VM kernel matrix, real runtimes and filesystems
  qemu-system-x86 cpio busybox-static kmod zstd xz-utils runc crun podman e2fsprogs
  util-linux debootstrap attr acl
  # tests: the Debian package and the documentation
  dpkg-dev lintian man-db systemd python3-yaml strace
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
