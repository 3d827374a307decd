// The benchmarks' main: Google Benchmark's, after the heap setup shootdown's own main does,
// so that they time what the tool runs.
#include <benchmark/benchmark.h>

#include "sim/huge_heap.h"

int main(int argc, char** argv) {
  sd::sim::back_heap_with_huge_pages();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
