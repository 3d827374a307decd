#include "host/measure.h"

#include <atomic>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "host/interrupts.h"

namespace sd::host {

namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};

// Counters around one measured window. Nesting, from outside in: the tracepoint counters
// (reading an enabled per-CPU event may IPI its CPU, so those reads stay outside the IPI
// window), /proc/interrupts (read without allocating, so the allocator's munmap/madvise
// cannot show up as flushes), then the workload. Buffers are sized before the window.
class window {
 public:
  explicit window(const context& ctx) : ctx_(ctx) {
    read_tracepoints(f0_);
    read_tracepoints(f1_);  // sizes the buffers
    irq_.read(i0_);
    i1_ = i0_;
  }
  void open() {
    read_tracepoints(f0_);
    have_irq_ = irq_.read(i0_);
    t0_ = clock_type::now();
  }
  clock_type::duration close(phase_sample& s) {
    const auto t1 = clock_type::now();
    have_irq_ = irq_.read(i1_) && have_irq_;
    read_tracepoints(f1_);
    if (have_irq_) {
      s.tlb_ipis_per_cpu.resize(i0_.tlb.size(), 0);
      s.cal_ipis_per_cpu.resize(i0_.tlb.size(), 0);
      for (std::size_t c = 0; c < i0_.tlb.size(); ++c) {
        s.tlb_ipis_per_cpu[c] += i1_.tlb[c] - i0_.tlb[c];
        s.cal_ipis_per_cpu[c] += i1_.cal[c] - i0_.cal[c];
      }
    }
    add_delta(ctx_.tracepoint, 0, s.flushes_by_reason);
    add_delta(ctx_.csd, 1, s.csd_queued);
    add_delta(ctx_.csd_all, 2, s.csd_queued_all);
    add_delta(ctx_.task_events, 3, s.task_events);
    return t1 - t0_;
  }

 private:
  void read_tracepoints(std::vector<std::uint64_t> (&into)[4]) const {
    if (ctx_.tracepoint) ctx_.tracepoint->read_raw(into[0]);
    if (ctx_.csd) ctx_.csd->read_raw(into[1]);
    if (ctx_.csd_all) ctx_.csd_all->read_raw(into[2]);
    if (ctx_.task_events) ctx_.task_events->read_raw(into[3]);
  }
  void add_delta(const tracepoint_counters* c, std::size_t i,
                 std::map<std::string, std::uint64_t>& out) const {
    if (!c) return;
    std::vector<std::uint64_t> d(f1_[i].size());
    for (std::size_t j = 0; j < d.size(); ++j) d[j] = f1_[i][j] - f0_[i][j];
    for (const auto& [k, v] : c->by_key(d)) out[k] += v;
  }

  const context& ctx_;
  interrupt_reader irq_;
  irq_counts i0_, i1_;
  bool have_irq_ = false;
  // tlb:tlb_flush, csd:csd_queue_cpu (ours, all), the process's own events (task_events)
  std::vector<std::uint64_t> f0_[4], f1_[4];
  clock_type::time_point t0_;
};

double ns_per(clock_type::duration d, std::uint64_t ops) {
  return ops ? std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(ops) : 0;
}

void add_counts(std::map<std::string, std::uint64_t>& into,
                const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

}  // namespace

void note_signal(int sig) {
  g_signal.store(sig);
  g_interrupted.store(true);
}
bool interrupted() {
  return g_interrupted.load();
}
int interrupting_signal() {
  return g_signal.load();
}

background_sample measure_background(const context& ctx) {
  phase_sample s;
  window w(ctx);
  w.open();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto d = w.close(s);
  if (s.tlb_ipis_per_cpu.empty()) return {};  // no /proc/interrupts
  return {std::chrono::duration<double>(d).count(),
          std::accumulate(s.tlb_ipis_per_cpu.begin(), s.tlb_ipis_per_cpu.end(), std::uint64_t{0}),
          std::accumulate(s.cal_ipis_per_cpu.begin(), s.cal_ipis_per_cpu.end(), std::uint64_t{0}),
          s.csd_queued_all};
}

phase_sample measure(const context& ctx, const std::function<void(std::uint64_t)>& body,
                     const std::atomic<std::uint64_t>* peer_ops, unsigned peers) {
  phase_sample s;
  window w(ctx);
  w.open();
  const std::uint64_t peers0 = peer_ops ? peer_ops->load() : 0;
  const auto t0 = clock_type::now();
  std::uint64_t i = 0;
  for (; i < ctx.iterations && !interrupted(); ++i) {
    body(i);
    if ((i & 63) == 63 && clock_type::now() - t0 > ctx.timeout) break;
  }
  s.ops = i;
  const std::uint64_t peers1 = peer_ops ? peer_ops->load() : 0;
  s.ns_per_op = ns_per(w.close(s), i);
  s.peers = peer_ops ? peers : 0;
  s.peer_ops = peers1 - peers0;
  return s;
}

phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const marked_body& body,
                            const std::function<void()>& teardown) {
  phase_sample s, fork;
  window w(ctx);
  clock_type::duration inside{};
  const auto start = clock_type::now();
  std::uint64_t rounds = 0;
  const std::uint64_t max_rounds = std::max<std::uint64_t>(1, ctx.iterations / ops_per_round);
  while (rounds < max_rounds && !interrupted()) {
    setup();
    w.open();
    body([&] {
      inside += w.close(fork);
      s.has_fork_part = true;
      w.open();
    });
    inside += w.close(s);
    teardown();
    ++rounds;
    if (clock_type::now() - start > ctx.timeout) break;
  }
  s.ops = rounds * ops_per_round;
  s.ns_per_op = ns_per(inside, s.ops);
  if (s.has_fork_part) {
    // The totals are the whole rounds: the fork's part is added back in.
    for (std::size_t c = 0; c < fork.tlb_ipis_per_cpu.size(); ++c) {
      s.tlb_ipis_per_cpu.at(c) += fork.tlb_ipis_per_cpu[c];
      s.cal_ipis_per_cpu.at(c) += fork.cal_ipis_per_cpu[c];
    }
    add_counts(s.flushes_by_reason, fork.flushes_by_reason);
    add_counts(s.csd_queued, fork.csd_queued);
    add_counts(s.csd_queued_all, fork.csd_queued_all);
    add_counts(s.task_events, fork.task_events);
    s.fork_flushes_by_reason = std::move(fork.flushes_by_reason);
    s.fork_csd_queued = std::move(fork.csd_queued);
  }
  return s;
}

phase_sample measure_rounds(const context& ctx, std::uint64_t ops_per_round,
                            const std::function<void()>& setup, const std::function<void()>& body,
                            const std::function<void()>& teardown) {
  return measure_rounds(
      ctx, ops_per_round, setup, [&](const std::function<void()>&) { body(); }, teardown);
}

}  // namespace sd::host
