#!/usr/bin/env bash
# Whether two builds give byte-identical simulate JSON (without "version") on every built-in
# scenario and arch at larger machine sizes than tests/golden covers: for a change meant to
# change no behaviour. Usage: scripts/same-output.sh OLD_BINARY NEW_BINARY [CPUS...]
# (default CPUS: 256 1024). Prints each differing configuration; exit 1 if any differs.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY [CPUS...]" >&2; exit 2; }
old=$1 new=$2
shift 2
cpus=("$@")
[[ ${#cpus[@]} -gt 0 ]] || cpus=(256 1024)
source "$(dirname "$0")/lib/same.sh"
scenarios=$("$new" list scenarios | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
arches=$("$new" list arches | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
for s in $scenarios; do
  for a in $arches; do
    for c in "${cpus[@]}"; do
      same_run simulate --quiet --scenario "$s" --arch "$a" --cpus "$c" --json -
    done
  done
done
echo "$same_runs configurations, $same_differ differ"
[[ $same_differ -eq 0 ]]
