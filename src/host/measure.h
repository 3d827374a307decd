// How `shootdown host` measures a phase: a window of the kernel's counters (tracepoints,
// /proc/interrupts) and the clock around the workload, per repeat; and the idle window
// before it. Linux only.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>

#include "host/host_run.h"
#include "host/tracepoints.h"
#include "workload/params.h"

namespace sd::host {

using clock_type = std::chrono::steady_clock;

// A phase this machine cannot run (missing kernel feature or permission): reported, not fatal.
struct phase_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct context {
  unsigned ncpus;
  std::uint64_t iterations;
  clock_type::duration timeout;
  tracepoint_counters* tracepoint;   // tlb:tlb_flush by reason (null: unavailable)
  tracepoint_counters* csd;          // csd:csd_queue_cpu by callback (null: unavailable)
  tracepoint_counters* csd_all;      // the same, any task on any CPU (null: unavailable)
  tracepoint_counters* task_events;  // write-protect faults, switches, this process (or null)
  workload::param_values params;     // the scenario's sizes (host/host_params.h)
  std::int64_t param(std::string_view key) const { return params.at(std::string(key)); }
};

// SIGINT/SIGTERM: the handler records the signal (async-signal-safe); phases stop at their
// next operation and the run reports what it measured.
void note_signal(int sig);
bool interrupted();
int interrupting_signal();

// Before a phase: 100 ms in which this process only sleeps, counted like a phase.
background_sample measure_background(const context& ctx);

// Runs `body(i)` for up to ctx.iterations iterations (stopping early on timeout or Ctrl-C)
// inside one window. `peers` other threads counting their iterations in `peer_ops` loop
// beside it: what they complete in the window is kept too (phase_sample::peer_ops).
phase_sample measure(const context& ctx, const std::function<void(std::uint64_t)>& body,
                     const std::atomic<std::uint64_t>* peer_ops = nullptr, unsigned peers = 0);

// A round's body may call `fork_done()` once, where its fork() returned in the parent: the
// counts up to there are also kept apart as the fork's (the window closes and reopens
// there, outside the timed part's bookkeeping).
using marked_body = std::function<void(const std::function<void()>& fork_done)>;

// Like measure(), but each round has a setup and a teardown outside its own window; a
// round's body performs `ops_per_round` operations. For operations that need fresh state.
phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const marked_body& body,
                            const std::function<void()>& teardown);
phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const std::function<void()>& body,
                            const std::function<void()>& teardown);

}  // namespace sd::host
