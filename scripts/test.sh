#!/usr/bin/env bash
# The whole test suite: install what is missing, build, format check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/check-format.sh
status=0
ctest --test-dir build --output-on-failure -j "$(nproc)" || status=$?
scripts/show-skips.sh build  # ctest counts skipped tests but does not say why
exit "$status"
