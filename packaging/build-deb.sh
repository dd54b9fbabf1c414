#!/usr/bin/env bash
# Builds the cgfence Debian package from the source tree with cmake --install
# and dpkg-deb (no debian/ source directory needed).
#
#   packaging/build-deb.sh [--build-dir DIR] [--out DIR]
#
# --build-dir: a configured build to install from (default: a fresh Release
# build in build-deb/, without the tests). --out: where the .deb goes
# (default: the current directory). Prints the package's path last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="" out=$PWD
while (($#)); do
  case $1 in
  --build-dir) build=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  *) echo "usage: $0 [--build-dir DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [[ -z $build ]]; then
  build=$root/build-deb
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCGFENCE_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target cgfencectl cgfence-hook >/dev/null

version=$(sed -n 's/^project(cgfence VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d /tmp/cgfence-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/src/debian/cgfence # where dpkg-shlibdeps expects a package

DESTDIR=$pkg cmake --install "$build" --prefix /usr --strip >/dev/null
gzip -9n "$pkg"/usr/share/man/man*/*
doc=$pkg/usr/share/doc/cgfence
install -d "$doc"
install -m 0644 "$root/packaging/debian/copyright" "$doc/copyright"
printf 'cgfence (%s) unstable; urgency=medium\n\n  * Built from the source tree.\n\n -- cgfence developers <maintainers@cgfence.invalid>  %s\n' \
  "$version" "$(date -R -d "@$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)")" |
  gzip -9n >"$doc/changelog.gz"

# Depends from the binaries' shared libraries, as dpkg-shlibdeps sees them
# (it finds the package's root by its DEBIAN directory).
install -d -m 0755 "$pkg/DEBIAN"
printf 'Source: cgfence\n\nPackage: cgfence\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O debian/cgfence/usr/sbin/cgfencectl \
  debian/cgfence/usr/libexec/oci/hooks.d/cgfence-hook | sed -n 's/^shlibs:Depends=//p')

for script in postinst prerm postrm; do
  install -m 0755 "$root/packaging/debian/$script" "$pkg/DEBIAN/$script"
done
find "$pkg/etc" -type f -printf '/etc/%P\n' >"$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@DEPENDS@/$depends/" "$root/packaging/debian/control.in" >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum >DEBIAN/md5sums)

mkdir -p "$out"
deb=$out/cgfence_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
