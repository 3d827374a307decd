// A user load/store as the MMU performs it: TLB lookup, else a page walk that starts from
// the deepest paging-structure-cache entry and fills the TLB and walk cache, else a fault.
#include <fmt/format.h>

#include "check/invariants.h"
#include "kernel/paths.h"

namespace sd::kern {

namespace {

struct walk_result {
  bool present = false;  // found a leaf entry
  bool writable = false;
  unsigned levels_read = 0;
  bool from_cache = false;  // started from a walk-cache entry, not from the root
  // `dry` only: would fill an entry the TLB or walk cache does not hold yet; would walk
  // through a walk-cache entry for a table freed since (which the monitor reports).
  bool fills = false;
  bool stale = false;
};

// The hardware walker. It never waits, so the whole walk is one step. With `dry` it changes
// nothing and only reports what it would do; with `inputs` it also lists what it read
// outside the TLB.
walk_result hw_walk(kernel& k, hw::cpu& c, mm::va_t va, bool dry = false,
                    std::vector<std::uint64_t>* inputs = nullptr) {
  auto read = [inputs](std::uint64_t v) {
    if (inputs) inputs->push_back(v);
  };
  auto read_frame = [&](mm::pfn_t pfn) {
    read(pfn);
    read(k.mem[pfn].generation);
    read(static_cast<std::uint64_t>(k.mem[pfn].kind));
  };
  walk_result r;
  auto insert = [&](const hw::tlb::key& key, hw::tlb_entry e) {
    if (!dry) {
      r.fills |= c.tlb.insert(key, e);
      return;
    }
    const hw::tlb_entry* old = c.tlb.find(key);
    r.fills |= !old || !old->same_translation(e);
  };
  const std::uint32_t asid = c.loaded_asid;
  mm::pfn_t table = c.loaded_mm->pgd;
  read(c.loaded_mm->id);
  read(asid);
  read(table);
  unsigned lvl = 4;
  for (unsigned l = 1; l <= 3; ++l) {
    const hw::tlb::key key = hw::tlb::walk_key(asid, l, va);
    const hw::tlb_entry* e = c.tlb.find(key);
    if (!e) continue;
    read_frame(e->pfn);
    if (dry && k.mem[e->pfn].generation != e->generation) {
      r.stale = true;
      return r;
    }
    if (!check::table_still_valid(k, c.id, e->pfn, e->generation, "the hardware page walker",
                                  "walk through paging-structure cache")) {
      break;  // the walk read garbage; the monitor has reported it
    }
    table = e->pfn;
    lvl = l;
    r.from_cache = true;
    break;
  }
  for (;; --lvl) {
    ++r.levels_read;
    const mm::pt_entry e = k.mem.table(table).e[mm::pt_index(va, lvl)];
    read(e.pfn);
    read(e.flags);
    if (!e.present()) return r;
    read_frame(e.pfn);
    const std::uint32_t gen = k.mem[e.pfn].generation;
    if (lvl == 1 || e.huge()) {  // a PTE, or a huge page mapped by the PMD
      insert(hw::tlb::leaf_key(asid, va), {e.pfn, gen, e.writable()});
      r.present = true;
      r.writable = e.writable();
      return r;
    }
    insert(hw::tlb::walk_key(asid, lvl - 1, va), {e.pfn, gen, false});
    table = e.pfn;
  }
}

// A page fault on x86 invalidates the TLB entry for the faulting address and the
// paging-structure-cache entries (PML4, PDPTE, PDE caches) that would be used for it, so
// that the access, re-executed, walks the tables in memory (Intel SDM 3A 4.10.4.1). A walk
// that started from a cached entry pointing at a table since unhooked (PT_RECLAIM) finds
// the page missing; the retry after the fault sees the table now there. The model drops the
// leaf entry (a permission fault) and, after a walk that started from a cached entry, the
// walk-cache entries for the address that no longer match the tables in memory (a different
// table, a new generation, or a level no longer present above them). The others the
// re-walk would refill with what they hold, so it keeps them and does not charge that
// re-walk's extra levels: dropping them all cost munmap-free-tables x86 at 1024 CPUs 47%
// more simulator time (bench_simulate, 362 -> 532 ms) for a few ns per fault.
void drop_stale_walk_entries(kernel& k, hw::cpu& c, mm::va_t va) {
  mm::pfn_t table = c.loaded_mm->pgd;
  bool below_missing = false;
  // The cached entry of level l holds the table that the level l + 1 entry points at.
  for (unsigned l = 3; l >= 1; --l) {
    const hw::tlb::key key = hw::tlb::walk_key(c.loaded_asid, l, va);
    const hw::tlb_entry* cached = c.tlb.find(key);
    mm::pt_entry e{};
    if (!below_missing) e = k.mem.table(table).e[mm::pt_index(va, l + 1)];
    below_missing = below_missing || !e.present() || e.huge();
    if (cached &&
        (below_missing || cached->pfn != e.pfn || cached->generation != k.mem[e.pfn].generation))
      c.tlb.flush_walk_entry(c.loaded_asid, l, va);
    if (!below_missing) table = e.pfn;
  }
}

// check explores schedules, and one that keeps running a CPU whose retries fault
// spuriously again and again never runs the CPU that would end them: on arm64 a fault keeps
// the walk-cache entry for a PTE table that PT_RECLAIM unhooked (and a fault then replaced)
// until the unhooking CPU's TLBI reaches it. On hardware the retrying CPU spins while the
// others go on; simulate's CPUs advance in time and need no rule. An attempt that would
// miss the TLB, walk without filling anything or finding the page, then fault spuriously,
// changes nothing but counters: repeating it adds no state. So in check the CPU waits until
// a step of another actor changes that (wake_futile_retries). Not covered: a write through
// a cached read-only leaf entry, whose fault may flush it (arm64 with the wp-reuse patch).
bool retry_is_futile(kernel& k, unsigned cpu, mm::va_t va, bool write) {
  hw::cpu& c = k.cpus[cpu];
  if (!c.loaded_mm || c.loaded_mm != c.current_mm || !c.loaded_mm->pgd) return false;
  if (c.tlb.find(hw::tlb::leaf_key(c.loaded_asid, va))) return false;
  // A walk that finds the page fills its leaf entry (the TLB holds none): `fills` covers it.
  const walk_result w = hw_walk(k, c, va, true);
  if (w.fills || w.stale) return false;
  // The x86 fault drops the stale walk-cache entries (drop_stale_walk_entries).
  if (k.arch->fault_invalidates_tlb_entry() && w.from_cache) return false;
  return fault_would_be_spurious(k, cpu, va, write);
}

sim::task<> wait_while_retry_is_futile(kernel& k, unsigned cpu, mm::va_t va, bool write) {
  while (retry_is_futile(k, cpu, va, write)) {
    if (k.futile_retries.empty()) k.futile_retries.resize(k.ncpus());
    futile_retry& f = k.futile_retries[cpu];
    f.waiting = true;
    f.va = va;
    f.write = write;
    co_await k.eng.wait(f.q);
  }
}

}  // namespace

void wake_futile_retries(kernel& k) {
  for (unsigned cpu = 0; cpu < k.futile_retries.size(); ++cpu) {
    futile_retry& f = k.futile_retries[cpu];
    if (!f.waiting || retry_is_futile(k, cpu, f.va, f.write)) continue;
    f.waiting = false;
    k.eng.wake_all(f.q);
  }
}

bool speculative_walk_fills(kernel& k, unsigned cpu, mm::va_t va) {
  hw::cpu& c = k.cpus[cpu];
  if (!c.loaded_mm || c.loaded_mm == &k.init_mm() || !c.loaded_mm->pgd) return false;
  if (c.tlb.find(hw::tlb::leaf_key(c.loaded_asid, va))) return false;  // a hit: no walk
  // Worth trying if it fills something, or walks through a freed table (the monitor
  // reports it).
  const walk_result w = hw_walk(k, c, va, true);
  return w.fills || w.stale;
}

std::vector<std::uint64_t> speculative_walk_inputs(kernel& k, unsigned cpu, mm::va_t va) {
  hw::cpu& c = k.cpus[cpu];
  std::vector<std::uint64_t> in{c.is_lazy ? 1u : 0u, c.loaded_mm ? c.loaded_mm->id + 1u : 0u};
  if (!c.loaded_mm || c.loaded_mm == &k.init_mm() || !c.loaded_mm->pgd) return in;
  hw_walk(k, c, va, true, &in);
  return in;
}

void speculative_walk(kernel& k, unsigned cpu, mm::va_t va) {
  hw::cpu& c = k.cpus[cpu];
  if (!c.loaded_mm || c.loaded_mm == &k.init_mm() || !c.loaded_mm->pgd) return;
  hw_walk(k, c, va);
}

sim::task<bool> user_access(kernel& k, unsigned cpu, mm::va_t va, bool write) {
  hw::cpu& c = k.cpus[cpu];
  // A fault can race with a concurrent unmap and need another round; a bounded number of
  // rounds catches a model bug instead of hanging.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    c.mode = hw::cpu_mode::user;
    // The lookup and the access it serves are one step (a flush can land before it, not
    // between them): peek only to charge the right cost, then look up again.
    const bool hit = c.tlb.find(hw::tlb::leaf_key(c.loaded_asid, va)) != nullptr;
    co_await k.step(hit ? cost::param::tlb_hit : cost::param::hw_walk_level);
    if (const hw::tlb_entry* e = c.tlb.find(hw::tlb::leaf_key(c.loaded_asid, va))) {
      if (k.mem[e->pfn].generation != e->generation)
        check::report_stale_tlb_use(k, cpu, va, e->pfn);
      if (!write || e->writable) co_return true;
      // A write through a read-only entry is a permission fault, taken from the TLB
      // even if the PTE has become writable since (a stale entry: spurious fault).
      if (k.arch->fault_invalidates_tlb_entry())
        c.tlb.flush_leaf_range(c.loaded_asid, va, va + mm::PAGE_SIZE);
      if (!co_await handle_mm_fault(k, cpu, va, write)) co_return false;
      continue;
    }
    // The walk and the access it serves are one step: an IPI cannot cut in between.
    const walk_result w = hw_walk(k, c, va);
    if (w.levels_read > 1)
      co_await k.step(cost::param::hw_walk_level, static_cast<std::int64_t>(w.levels_read - 1));
    if (w.present && (!write || w.writable)) co_return true;
    if (k.arch->fault_invalidates_tlb_entry()) {
      if (w.present) c.tlb.flush_leaf_range(c.loaded_asid, va, va + mm::PAGE_SIZE);
      // A walk from the root filled its walk-cache entries from memory just now: only one
      // that started from a cached entry can have used a stale one.
      if (w.from_cache) drop_stale_walk_entries(k, c, va);
    }
    if (!co_await handle_mm_fault(k, cpu, va, write)) co_return false;
    if (k.explores()) co_await wait_while_retry_is_futile(k, cpu, va, write);
  }
  throw std::logic_error(
      fmt::format("model bug: access to {:#x} on CPU {} never resolved", va, cpu));
}

}  // namespace sd::kern
