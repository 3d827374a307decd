# Sourced by scripts/same-output.sh and scripts/same-check.sh: runs two builds ($old and
# $new) with the same arguments and compares what they print, without the keys that differ
# between builds by design ("version"; check's "seconds"), and their exit codes.
same_tmp=$(mktemp -d)
trap 'rm -rf "$same_tmp"' EXIT
same_runs=0
same_differ=0

# same_run ARGS...: one comparison; prints "differs: ARGS" when the two differ.
same_run() {
  local side bin rc
  for side in old new; do
    bin=$old
    [[ $side == new ]] && bin=$new
    rc=0
    "$bin" "$@" >"$same_tmp/$side.out" 2>/dev/null || rc=$?
    { grep -v '"version":\|"seconds":' "$same_tmp/$side.out" || true; echo "exit $rc"; } \
      >"$same_tmp/$side"
  done
  same_runs=$((same_runs + 1))
  if ! cmp -s "$same_tmp/old" "$same_tmp/new"; then
    echo "differs: $*"
    same_differ=$((same_differ + 1))
  fi
}
