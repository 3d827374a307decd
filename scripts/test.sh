#!/usr/bin/env bash
# The whole test suite: install what is missing, build, format check, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/check-format.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
