#!/usr/bin/env bash
# After ctest: print each skipped test with the reason it gave (GTEST_SKIP's message), which
# ctest's own summary leaves out. Usage: scripts/show-skips.sh [BUILD_DIR]
set -euo pipefail
log="${1:-build}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || exit 0
awk '
  / Skipped$/ { getline reason; pending = reason; next }
  /^\[  SKIPPED \] / && pending != "" {
    name = $4; print "skipped: " name ": " pending; pending = ""
  }
' "$log"
