#!/usr/bin/env bash
# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/).
# Coroutine frame lifetimes are the bugs this catches first.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSHOOTDOWN_SANITIZE=ON \
  -DSHOOTDOWN_BENCH=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"
# check's longest searches (up to 110,000 executions) run ~45x slower here and
# exercise no code the violation-finding check tests do not (those also tear executions down
# mid-path): they run in the release pass only, as do triage's verdict tests (triage_test
# Triage.*: the same searches, run with and without each feature).
exhaustive='Check\.(WithEveryKnobOnNoViolationWithinTheBound|Seed002AsPostedCountsAnIpiToAnyVcpuOnKvm|ReductionKeepsVerdictsAndPrunes|PreemptionReductionKeepsKvmVerdicts)|Triage\.'
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -E "$exhaustive"
