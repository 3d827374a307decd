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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
differ=0 runs=0
scenarios=$("$new" list scenarios | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
arches=$("$new" list arches | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
for s in $scenarios; do
  for a in $arches; do
    for c in "${cpus[@]}"; do
      args=(simulate --quiet --scenario "$s" --arch "$a" --cpus "$c" --json -)
      "$old" "${args[@]}" | grep -v '"version":' >"$tmp/old"
      "$new" "${args[@]}" | grep -v '"version":' >"$tmp/new"
      runs=$((runs + 1))
      if ! cmp -s "$tmp/old" "$tmp/new"; then
        echo "differs: ${args[*]}"
        differ=$((differ + 1))
      fi
    done
  done
done
echo "$runs configurations, $differ differ"
[[ $differ -eq 0 ]]
