#include "check/explorer.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>

#include "sim/rng.h"

namespace sd::check {

namespace {

bool is_hardware(const choice& c) {
  return c.kind != choice_kind::step && c.kind != choice_kind::irq;
}

// Whether choosing `c` now preempts the last actor (costs one unit of the bound).
bool is_preemption(const execution& e, const choice& c) {
  const auto cont = e.continuation();
  if (cont && !e.woke_another()) return !(c == *cont);
  // The last actor cannot move (or just woke another): any actor may go on. Hardware
  // events still cost, except resuming a vCPU when no actor can move otherwise.
  if (c.kind == choice_kind::resume)
    return std::any_of(e.options().begin(), e.options().end(),
                       [](const choice& o) { return !is_hardware(o); });
  return is_hardware(c);
}

// The choice made when nothing forces another: continue the last actor, else the first.
choice default_choice(const execution& e) {
  if (auto cont = e.continuation()) return *cont;
  for (const auto& c : e.options())
    if (!is_preemption(e, c)) return c;
  return e.options().front();
}

void check_steps(const execution& e, const explore_options& opt) {
  if (e.depth() > opt.max_steps)
    throw std::runtime_error("an execution ran past " + std::to_string(opt.max_steps) +
                             " steps: a livelock in the program or the model");
}

// One node of the dfs path: the options there, the ones within the bound in the order
// they are tried, and which is being explored.
struct node {
  std::vector<choice> options;
  std::vector<std::uint16_t> order;
  std::size_t pos = 0;
  unsigned used = 0;  // preemptions before this node
  std::vector<std::uint8_t> costs;
  const choice& taken() const { return options[order[pos]]; }
  bool taken_costs() const { return costs[order[pos]]; }
  std::uint64_t hash = 0;  // of the path to this node (seeds the shuffled order)
  // Sleep set: choices not to explore here, because an equivalent order was explored.
  std::vector<choice> sleep;
  // Per position in `order`, once that choice was made here: which options commute with it
  // (execution::apply). Empty until known.
  std::vector<commute_mask> indep;
};

// Every schedule with exactly `bound` preemptions is counted; schedules with fewer were
// counted by the previous iteration (iterative deepening, as CHESS does: shallow bugs first).
// An explorer owns one subtree: the nodes of `prefix` up to `frozen` are fixed.
class dfs_explorer {
 public:
  dfs_explorer(const check_config& cfg, const explore_options& opt, unsigned bound,
               std::atomic<std::uint64_t>& executed, std::vector<node> prefix = {},
               std::size_t frozen = 0)
      : cfg_(cfg),
        opt_(opt),
        bound_(bound),
        executed_(executed),
        path_(std::move(prefix)),
        frozen_(frozen) {}

  // `stop(n)`, asked before each execution with the n this explorer ran so far, says that
  // its share of --max-executions is used up or that a subtree earlier in dfs order found a
  // violation.
  template <typename Stop>
  explore_result run(Stop&& stop) {
    explore_result r;
    for (;; ++ran_) {
      if (stop(ran_)) return r;
      const std::uint64_t done = executed_.fetch_add(1);
      if (opt_.progress && done % 64 == 0) opt_.progress(done);
      if (execute_once(r)) {
        ++ran_;
        return r;
      }
      if (!backtrack()) {
        ++ran_;
        r.exhausted = true;
        return r;
      }
    }
  }

  // One execution along the current path, extended by default choices; true if it violated.
  bool execute_once(explore_result& r) {
    execution e(cfg_, false);
    // Options are needed again from the first node whose choice is measured here (its
    // mask is not known yet), else at the end (first_full says from where to compute them).
    std::size_t need = path_.size();
    for (std::size_t d = 0; opt_.reduce && d < need; ++d)
      if (path_[d].indep[path_[d].pos].empty()) need = d;
    const std::size_t full = first_full(need);
    for (std::size_t d = 0; d < path_.size(); ++d) {
      node& n = path_[d];
      if (d < full) {
        e.advance(n.taken());
        continue;
      }
      if ((d == 0 || d > full) && e.options() != n.options)
        throw std::logic_error("model nondeterminism: a replayed prefix diverged");
      if (opt_.reduce && n.indep[n.pos].empty()) {
        if (d == path_.size() - 1) learn_earlier_masks(d);
        e.apply(n.taken(), &n.indep[n.pos]);
      } else {
        e.apply(n.taken());
      }
    }
    const bool complete = extend(e, r);
    if (complete && (cost_so_far() == bound_ || e.violated())) ++r.executions;
    r.max_depth = std::max(r.max_depth, e.depth());
    if (!e.violated()) return false;
    r.violation = true;
    r.first = e.first_violation();
    for (const auto& n : path_) r.schedule.push_back(n.taken());
    return true;
  }

  const std::vector<node>& path() const { return path_; }
  // Executions run() made (those the bound or the reduction cut short included).
  std::uint64_t ran() const { return ran_; }

 private:
  // A subtree's frozen node starts past its first alternatives, explored by other
  // subtrees: their masks are learnt by replaying the prefix and making each once, so the
  // sleep sets (and counts) are those of one thread's dfs.
  void learn_earlier_masks(std::size_t d) {
    node& n = path_[d];
    for (std::size_t q = 0; q < n.pos; ++q) {
      if (!n.indep[q].empty()) continue;
      execution e(cfg_, false);
      replay_prefix(e, d);
      e.apply(n.options[n.order[q]], &n.indep[q]);
    }
  }

  // Replaying up to where the options are needed again (node `need`), the choices before
  // the returned node are made without computing the options after them. Whether the last
  // choice woke another actor (read at `need`) was decided by the last choice before it
  // that is not TLB-only (those keep it), from who could move before that one: the options
  // are computed from the choice before it on.
  std::size_t first_full(std::size_t need) const {
    std::size_t k = need;  // k - 1: the last choice before `need` that is not TLB-only
    while (k > 0 && tlb_only(path_[k - 1].taken())) --k;
    return k >= 2 ? k - 2 : 0;
  }

  // Makes the choices of the path's first d nodes (to measure one more choice there).
  void replay_prefix(execution& e, std::size_t d) const {
    const std::size_t full = first_full(d);
    for (std::size_t i = 0; i < d; ++i) {
      if (i < full)
        e.advance(path_[i].taken());
      else
        e.apply(path_[i].taken());
    }
  }

  // The sleep set (into `out`) of the node reached by taking path_[d]'s current choice t: what
  // slept at d and the alternatives explored before t there, as far as they commute with t. Whether
  // two choices commute is measured from the side of the one that is a step (its footprint
  // is what matters): for an alternative that is its mask at d; for a sleeping step, which
  // was never made at d, it is learnt by replaying the prefix and making it once. So the
  // answer does not depend on which of the two was explored first.
  void child_sleep(std::size_t d, std::vector<choice>& out) {
    const node& n = path_[d];
    const commute_mask& by_t = n.indep[n.pos];
    const choice& t = n.taken();
    const auto index = [&n](const choice& c) {
      return static_cast<std::size_t>(std::find(n.options.begin(), n.options.end(), c) -
                                      n.options.begin());
    };
    for (const auto& c : n.sleep) {
      const std::size_t i = index(c);
      if (i == n.options.size()) continue;
      if (by_t[i] || (footprint_event(t) && !footprint_event(c) && step_commutes(d, c, index(t))))
        out.push_back(c);
    }
    for (std::size_t q = 0; q < n.pos; ++q)
      if (by_t[n.order[q]] || n.indep[q][n.order[n.pos]]) out.push_back(n.options[n.order[q]]);
  }

  // Whether the step `x`, made at path_[d], commutes with that node's option `other`.
  bool step_commutes(std::size_t d, const choice& x, std::size_t other) {
    execution e(cfg_, false);
    replay_prefix(e, d);
    commute_mask mask;
    e.apply(x, &mask);
    return mask[other];
  }

  // An empty node, reusing a spare one's storage.
  node fresh_node() {
    if (spare_.empty()) return {};
    node n = std::move(spare_.back());
    spare_.pop_back();
    n.options.clear();
    n.order.clear();
    n.pos = 0;
    n.used = 0;
    n.costs.clear();
    n.hash = 0;
    n.sleep.clear();
    for (auto& m : n.indep) m.clear();
    return n;
  }

  unsigned cost_so_far() const {
    return path_.empty() ? 0 : path_.back().used + (path_.back().taken_costs() ? 1 : 0);
  }

  // Extends the path by default choices to the end; false if it stopped because every
  // choice left within the bound sleeps (an equivalent execution was explored).
  bool extend(execution& e, explore_result& r) {
    while (!e.violated()) {
      if (e.options().empty()) {
        e.finish();
        return true;
      }
      check_steps(e, opt_);
      node n = fresh_node();
      n.options = e.options();
      n.used = cost_so_far();
      // The order depends only on the path to this node, so every split of the tree
      // into subtrees explores in the same order.
      if (path_.empty()) {
        n.hash = opt_.seed;
      } else {
        const choice& c = path_.back().taken();
        std::uint64_t h =
            path_.back().hash ^ (std::uint64_t{static_cast<std::uint8_t>(c.kind)} << 32 |
                                 std::uint64_t{c.actor} << 16 | c.arg);
        n.hash = sim::splitmix64(h);
      }
      if (opt_.reduce && !path_.empty()) child_sleep(path_.size() - 1, n.sleep);
      const choice def = default_choice(e);
      n.costs.resize(n.options.size());
      std::uint16_t def_index = 0;
      bool asleep = false;
      for (std::size_t i = 0; i < n.options.size(); ++i) {
        n.costs[i] = is_preemption(e, n.options[i]);
        if (n.options[i] == def) def_index = static_cast<std::uint16_t>(i);
        if (n.used + (n.costs[i] ? 1 : 0) > bound_) continue;
        if (std::find(n.sleep.begin(), n.sleep.end(), n.options[i]) != n.sleep.end()) {
          // Counted once per node, in the execution that creates it.
          ++r.pruned;
          asleep = true;
          continue;
        }
        n.order.push_back(static_cast<std::uint16_t>(i));
      }
      if (opt_.seed == 0) {
        // The default first, then the rest in option order.
        std::stable_partition(n.order.begin(), n.order.end(),
                              [&](std::uint16_t i) { return i == def_index; });
      } else {
        sim::rng shuffle(opt_.seed, "check/dfs", n.hash);
        for (std::size_t i = n.order.size(); i > 1; --i)
          std::swap(n.order[i - 1], n.order[shuffle.below(i)]);
      }
      if (n.order.empty()) {
        spare_.push_back(std::move(n));
        if (asleep) return false;
        e.finish();  // only hardware events are left, and the bound is spent
        return true;
      }
      n.indep.resize(n.order.size());
      path_.push_back(std::move(n));
      node& added = path_.back();
      if (opt_.reduce)
        e.apply(added.taken(), &added.indep[0]);
      else
        e.apply(added.taken());
    }
    return true;
  }

  bool backtrack() {
    while (path_.size() > frozen_) {
      node& n = path_.back();
      if (n.pos + 1 < n.order.size()) {
        ++n.pos;
        return true;
      }
      spare_.push_back(std::move(n));
      path_.pop_back();
    }
    return false;
  }

  const check_config& cfg_;
  const explore_options& opt_;
  unsigned bound_;
  std::atomic<std::uint64_t>& executed_;
  std::vector<node> path_;
  std::size_t frozen_;
  std::uint64_t ran_ = 0;
  // Nodes popped off the path, kept for their vectors' storage: every execution makes
  // tens of nodes, and allocating their vectors anew was a fifth of the run time.
  std::vector<node> spare_;
};

// The subtrees of one bound, in dfs order: the first execution's path, then for each of
// its nodes from the deepest up, each further alternative. They partition the tree, so
// running them on any number of threads and merging in this order gives the serial result.
// A subtree is the first path's nodes up to `depth`, the last of them at alternative `pos`;
// its prefix is copied when it runs (copying them all up front took memory quadratic in the
// length of an execution: 1.2 GB for hugetlb-unshare-last at 3 CPUs).
struct subtree {
  std::size_t depth;
  std::size_t pos;
  std::vector<node> prefix(const std::vector<node>& path) const {
    std::vector<node> p(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(depth) + 1);
    p.back().pos = pos;
    return p;
  }
};

explore_result explore_bound(const check_config& cfg, const explore_options& opt, unsigned bound,
                             std::atomic<std::uint64_t>& executed) {
  // The first execution alone, to learn the path the subtrees hang off; it is the first
  // subtree (a single leaf).
  explore_result total;
  std::vector<node> path;
  {
    dfs_explorer probe(cfg, opt, bound, executed);
    executed.fetch_add(1);
    if (probe.execute_once(total)) return total;
    path = probe.path();
  }
  std::vector<subtree> tasks;
  for (std::size_t d = path.size(); d-- > 0;)
    for (std::size_t p = 1; p < path[d].order.size(); ++p) tasks.push_back({d, p});
  std::vector<explore_result> results(tasks.size());
  std::atomic<std::size_t> first_violation{tasks.size()};
  // --max-executions: serial dfs stops after the first `budget` executions of this bound in
  // dfs order; so does the merge below. Subtree i's share is what the subtrees before it
  // leave; while they run, what they have run so far gives an upper bound of it.
  const std::uint64_t budget = opt.max_executions - std::min(opt.max_executions, executed.load());
  std::vector<std::atomic<std::uint64_t>> ran(tasks.size());
  const auto share = [&](std::size_t i) {
    std::uint64_t before = 0;
    for (std::size_t j = 0; j < i; ++j) before += ran[j].load();
    return budget - std::min(budget, before);
  };
  auto run_task = [&](std::size_t i) {
    dfs_explorer x(cfg, opt, bound, executed, tasks[i].prefix(path), tasks[i].depth + 1);
    results[i] = x.run([&](std::uint64_t own) {
      ran[i].store(own);
      return own >= share(i) || first_violation.load() < i;
    });
    ran[i].store(x.ran());
    if (results[i].violation) {
      std::size_t cur = first_violation.load();
      while (i < cur && !first_violation.compare_exchange_weak(cur, i)) {
      }
    }
  };
  if (opt.jobs <= 1) {
    for (std::size_t i = 0; i < tasks.size() && first_violation.load() == tasks.size(); ++i)
      run_task(i);
  } else if (opt.last_subtree_first) {
    for (std::size_t i = tasks.size(); i-- > 0;) run_task(i);
  } else {
    tbb::task_arena arena(static_cast<int>(opt.jobs));
    arena.execute([&] {
      tbb::parallel_for(std::size_t{0}, tasks.size(), [&](std::size_t i) { run_task(i); });
    });
  }
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    // The subtree that reaches the cap in dfs order may have run past its exact share
    // (it ran while the ones before it were still running), found its violation past it,
    // or stopped short for a violation that later proves to lie past an earlier cap. It is
    // explored again alone, up to its share: the result is the serial one.
    const std::uint64_t exact = share(i);
    const bool ended = results[i].exhausted || results[i].violation;
    if (ended ? ran[i].load() > exact : ran[i].load() != exact) {
      dfs_explorer x(cfg, opt, bound, executed, tasks[i].prefix(path), tasks[i].depth + 1);
      results[i] = x.run([exact](std::uint64_t own) { return own >= exact; });
      ran[i].store(x.ran());
    }
    total.executions += results[i].executions;
    total.pruned += results[i].pruned;
    total.max_depth = std::max(total.max_depth, results[i].max_depth);
    if (results[i].violation) {
      total.violation = true;
      total.first = results[i].first;
      total.schedule = std::move(results[i].schedule);
      return total;
    }
    if (!results[i].exhausted) return total;  // stopped at --max-executions
  }
  // The next bound's share: every subtree ran to its end, those of threads included.
  executed.store(opt.max_executions - share(tasks.size()));
  total.exhausted = true;
  return total;
}

explore_result deepen(const check_config& cfg, const explore_options& opt) {
  explore_result total;
  std::atomic<std::uint64_t> executed{0};
  for (unsigned b = 0; b <= opt.bound; ++b) {
    explore_result r = explore_bound(cfg, opt, b, executed);
    total.executions += r.executions;
    total.pruned += r.pruned;
    total.max_depth = std::max(total.max_depth, r.max_depth);
    if (r.violation) {
      total.violation = true;
      total.first = r.first;
      total.schedule = std::move(r.schedule);
      return total;
    }
    if (!r.exhausted) return total;
  }
  total.exhausted = true;
  return total;
}

// One execution choosing by `pick` until the end; returns it for inspection.
template <typename Pick>
std::unique_ptr<execution> run_sampled(const check_config& cfg, const explore_options& opt,
                                       std::vector<choice>& schedule, Pick&& pick) {
  auto e = std::make_unique<execution>(cfg, false);
  schedule.clear();
  while (!e->violated()) {
    if (e->options().empty()) {
      e->finish();
      break;
    }
    check_steps(*e, opt);
    const choice c = pick(*e);
    schedule.push_back(c);
    e->apply(c);
  }
  return e;
}

// PCT: the priority of the source of a choice (an actor's steps, its IRQs, a CPU's MMU,
// the hypervisor's hand on a vCPU).
std::uint32_t source_of(const choice& c) {
  return static_cast<std::uint32_t>(c.kind) << 16 | c.actor;
}

explore_result sample(const check_config& cfg, const explore_options& opt) {
  explore_result r;
  sim::rng rng(opt.seed, opt.strat == strategy::pct ? "check/pct" : "check/random");
  std::size_t typical_depth = 0;
  std::vector<choice> schedule;
  for (std::uint64_t i = 0; i < opt.max_executions; ++i) {
    if (opt.progress && i % 64 == 0) opt.progress(i);
    std::unique_ptr<execution> e;
    if (opt.strat == strategy::random) {
      e = run_sampled(cfg, opt, schedule, [&](const execution& x) {
        return x.options()[rng.below(x.options().size())];
      });
    } else {
      std::map<std::uint32_t, std::uint64_t> prio;  // higher runs first
      std::vector<std::size_t> drops;
      for (unsigned d = 1; d < opt.pct_depth; ++d)
        drops.push_back(1 + rng.below(std::max<std::size_t>(typical_depth, 1)));
      std::size_t step = 0;
      e = run_sampled(cfg, opt, schedule, [&](const execution& x) {
        choice best{};
        std::uint64_t best_p = 0;
        for (const auto& c : x.options()) {
          auto [it, fresh] = prio.try_emplace(source_of(c), 0);
          if (fresh) it->second = opt.pct_depth + 1 + rng.below(1u << 30);
          if (it->second >= best_p) {
            if (it->second > best_p || source_of(c) < source_of(best)) best = c;
            best_p = it->second;
          }
        }
        ++step;
        for (std::size_t d = 0; d < drops.size(); ++d)
          if (drops[d] == step) prio[source_of(best)] = d + 1;  // below every initial one
        // The hypervisor's hand moves no program forward: were it to keep its priority,
        // preempting and resuming a vCPU would alternate forever. Once used it drops below
        // every CPU, so a preempted vCPU stays out until nothing else can move.
        if (best.kind == choice_kind::preempt || best.kind == choice_kind::resume)
          prio[source_of(best)] = 0;
        return best;
      });
    }
    ++r.executions;
    r.max_depth = std::max(r.max_depth, e->depth());
    typical_depth = std::max(typical_depth, e->depth());
    if (e->violated()) {
      r.violation = true;
      r.first = e->first_violation();
      r.schedule = schedule;
      return r;
    }
  }
  return r;
}

}  // namespace

explore_result explore(const check_config& cfg, const explore_options& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  explore_result r = opt.strat == strategy::dfs ? deepen(cfg, opt) : sample(cfg, opt);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

replay_result replay(const check_config& cfg, const std::vector<choice>& schedule,
                     kern::trace_recorder* trace) {
  execution e(cfg, true, trace);
  replay_result r;
  for (std::size_t i = 0; i < schedule.size() && !e.violated(); ++i) {
    const auto& opts = e.options();
    if (std::find(opts.begin(), opts.end(), schedule[i]) == opts.end())
      throw std::invalid_argument("schedule choice " + std::to_string(i + 1) + " ('" +
                                  to_string(schedule[i]) +
                                  "') is not possible there: the schedule belongs to another "
                                  "program, arch, patch set, knob setting or CPU count");
    e.apply(schedule[i]);
    r.schedule.push_back(schedule[i]);
  }
  explore_options opt;
  while (!e.violated()) {
    if (e.options().empty()) {
      e.finish();
      break;
    }
    check_steps(e, opt);
    const choice c = default_choice(e);
    e.apply(c);
    r.schedule.push_back(c);
  }
  r.violation = e.violated();
  if (r.violation) r.first = e.first_violation();
  r.steps = e.log();
  r.stats = e.stats();
  for (unsigned a = 0; a <= e.cpus(); ++a) r.actor_names.push_back(e.actor_name(a));
  return r;
}

}  // namespace sd::check
