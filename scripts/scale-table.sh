#!/usr/bin/env bash
# The per-step ratio of bench_scale as a table: for each scenario and arch, the cost of a
# model step at 4096 CPUs divided by the cost at 8, over the whole run and over the steps
# alone (without the machine's setup and teardown), and the steps of each run (issue 12,
# docs/performance.md). Usage: scripts/scale-table.sh [default|fixed] [BENCH_ARGS...]
#   default: BM_scale (each size with its default parameters)
#   fixed:   BM_scale_fixed_params (both sizes with the parameters of 8 CPUs)
# e.g. scripts/scale-table.sh fixed --benchmark_min_time=0.2
# This guest's speed drifts (by as much as 1.7x within minutes); for ratios near a limit, repeat and
# interleave, and the table uses each benchmark's median:
#   scripts/scale-table.sh fixed --benchmark_min_time=0.1 --benchmark_repetitions=5 \
#     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-default}
shift || true
case $kind in
  default) filter='^BM_scale/' ;;
  fixed) filter='^BM_scale_fixed_params/' ;;
  *) echo "usage: $0 [default|fixed] [BENCH_ARGS...]" >&2; exit 2 ;;
esac
bench=build/bench_scale
[ -x "$bench" ] || { echo "$0: $bench not built (scripts/build.sh)" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" --benchmark_filter="$filter" "$@" >"$out"
# Lines: BM_scale[_fixed_params]/SCENARIO/ARCH/CPUS/process_time/real_time ... ns_per_step=X steps_per_run=Y
awk '
  # A counter as the console reporter prints it: a number and a suffix, scaled by the
  # factor `scale[suffix]` (see BEGIN); `name` for the error.
  function scaled(v, scale, name,   num, suffix) {
    match(v, /^[0-9.eE+-]+/)
    num = substr(v, 1, RLENGTH); suffix = substr(v, RLENGTH + 1)
    if (suffix in scale) return num * scale[suffix]
    print "unknown suffix in " name "=" v > "/dev/stderr"; exit 1
  }
  # ns_per_step is a time with an SI unit of seconds; run_ns_per_step a plain number, with k
  # or M when it is large.
  BEGIN {
    time_ns["ns"] = 1; time_ns["us"] = 1e3; time_ns["ms"] = 1e6; time_ns["s"] = 1e9
    plain[""] = 1; plain["k"] = 1e3; plain["M"] = 1e6
  }
  # With --benchmark_repetitions: the median stands for the runs (it is printed after them);
  # the other aggregates are not times per step.
  $1 ~ /_(mean|stddev|cv)$/ { next }
  $1 ~ /^BM_scale/ {
    split($1, p, "/"); key = p[2] "/" p[3]; cpus = p[4]
    for (i = 2; i <= NF; ++i) {
      if ($i ~ /^ns_per_step=/) { v = $i; sub(/^ns_per_step=/, "", v); ns[key, cpus] = scaled(v, time_ns, "ns_per_step") }
      if ($i ~ /^run_ns_per_step=/) { v = $i; sub(/^run_ns_per_step=/, "", v); run[key, cpus] = scaled(v, plain, "run_ns_per_step") }
      if ($i ~ /^steps_per_run=/) { v = $i; sub(/^steps_per_run=/, "", v); steps[key, cpus] = v }
    }
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  }
  END {
    if (n == 0) { print "no bench_scale results" > "/dev/stderr"; exit 1 }
    print "| scenario/arch | ns/step at 8 | ns/step at 4096 | ratio | steps alone: ns/step at 8 | at 4096 | ratio | steps at 8 | steps at 4096 |"
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= n; ++i) {
      k = order[i]
      if (!((k, 8) in ns) || !((k, 4096) in ns)) continue
      # In name order, whatever order the benchmarks ran in (random interleaving).
      printf "| %s | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx | %s | %s |\n", k, ns[k, 8],
             ns[k, 4096], ns[k, 4096] / ns[k, 8], run[k, 8], run[k, 4096],
             run[k, 4096] / run[k, 8], steps[k, 8], steps[k, 4096] | "sort"
    }
    close("sort")
  }
' "$out"
