#!/usr/bin/env bash
# Fuzz what users type (scenario files, program files, --set/--cost/--knob values) with
# libFuzzer under ASan + UBSan for SECONDS (default 60), starting from the shipped scenario
# and program files and the regression corpus. Exits non-zero on any finding; the input that
# caused it is left in build-fuzz/ (crash-*, timeout-*, oom-*): fix the bug, then add the
# file to tests/fuzz_regressions/, which the unit tests replay.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSHOOTDOWN_FUZZ=ON -DSHOOTDOWN_TESTS=OFF -DSHOOTDOWN_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_input
corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp scenarios/*.toml programs/*.toml "$corpus"/
cp tests/fuzz_regressions/* "$corpus"/ 2>/dev/null || true
# -timeout: one input taking 10 s is a hang; -rss_limit_mb: unbounded memory is a finding.
build-fuzz/fuzz_input -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix=build-fuzz/ "$corpus" 2>build-fuzz/fuzz.log || {
  tail -40 build-fuzz/fuzz.log
  echo "fuzz: FINDING (input in build-fuzz/, log build-fuzz/fuzz.log)" >&2
  exit 1
}
grep -E "^Done [0-9]+ runs|stat::number_of_executed_units" build-fuzz/fuzz.log | tail -2
echo "fuzz: no finding in ${seconds} s"
