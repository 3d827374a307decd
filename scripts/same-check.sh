#!/usr/bin/env bash
# Whether two builds give the same `check` results on every shipped program: verdict,
# coverage counts, counterexample and exit code, compared as JSON without "version" and
# "seconds". For a change meant to change no behaviour of check (scripts/same-output.sh does
# the same for simulate). Usage: scripts/same-check.sh OLD_BINARY NEW_BINARY [ARCHES...]
# (default ARCHES: x86 arm64; each run with --evictions, one job). Prints each differing
# run; exit 1 if any differs.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY [ARCHES...]" >&2; exit 2; }
old=$1 new=$2
shift 2
arches=("$@")
[[ ${#arches[@]} -gt 0 ]] || arches=(x86 arm64)
source "$(dirname "$0")/lib/same.sh"
programs=$("$new" list programs | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
[[ -n $programs ]] || { echo "$0: $new lists no programs" >&2; exit 2; }
for p in $programs; do
  for a in "${arches[@]}"; do
    same_run check --program "$p" --arch "$a" --evictions --jobs 1 --json -
  done
done
echo "$same_runs runs, $same_differ differ"
[[ $same_differ -eq 0 ]]
