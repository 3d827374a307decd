#!/usr/bin/env bash
# Install what is missing, build, and run shootdown (default: `simulate` on the built-in
# munmap-free-tables scenario). Extra arguments are passed to shootdown.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_TARGET=shootdown scripts/build.sh  # tests and benchmarks are the test command's
if [ $# -eq 0 ]; then set -- simulate; fi
exec build/shootdown "$@"
