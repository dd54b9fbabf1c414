#!/usr/bin/env bash
# In the VM: loads cgfence at its default pin directory, runs each README
# block given (N:NAME, from BLOCK_DIR/N.sh) and prints PASS/FAIL lines;
# unloads at the end.
#   guest-loaded-blocks.sh BLOCK_DIR PREFIX N:NAME...
set -uo pipefail
blocks=$1 prefix=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
cgfencectl load >/dev/null || { echo "FAIL $prefix/load: cgfencectl load failed"; exit 1; }
trap 'cgfencectl unload --force >/dev/null 2>&1' EXIT
for item in "$@"; do
  n=${item%%:*} name=${item#*:}
  if out=$(cd "$root" && bash -euo pipefail -c "$(cat "$blocks/$n.sh")" 2>&1); then
    echo "PASS $prefix/$name (cgfence loaded, kernel $(uname -r))"
  else
    echo "FAIL $prefix/$name: $(tail -n 8 <<<"$out")"
  fi
done
