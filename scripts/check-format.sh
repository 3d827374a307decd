#!/usr/bin/env bash
# Fails (does not fix) when a C++ file differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones not yet added (a new test file is checked before its commit).
files=$(git ls-files --cached --others --exclude-standard '*.cpp' '*.h' 2>/dev/null ||
  find src tests bench fuzz -name '*.cpp' -o -name '*.h')
[ -n "$files" ] || exit 0
if ! echo "$files" | xargs clang-format --dry-run --Werror 2>/tmp/shootdown-format.log; then
  head -40 /tmp/shootdown-format.log
  echo "format: run 'clang-format -i' on the files above" >&2
  exit 1
fi
echo "format: ok"
