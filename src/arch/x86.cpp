// x86 TLB flushing: arch/x86/mm/tlb.c and arch/x86/include/asm/tlb.h (v6.19 / mm tree
// 2026). IPIs to mm_cpumask CPUs, lazy-TLB CPUs skipped unless tables are freed, per-CPU
// ASID slots with tlb_gen catch-up, and the 33-page full-flush ceiling. Two variants of
// flush_tlb_multi / the flush path (kernel-mechanisms 2.7, 2.8):
//   kvm:     kvm_flush_tlb_multi (arch/x86/kernel/kvm.c): targets whose steal-time record
//            says PREEMPTED get a flush-on-entry request instead of an IPI;
//   invlpgb: mms active on more than 3 CPUs get a global ASID (consider_global_asid) and are
//            flushed by broadcast INVLPGB + TLBSYNC, interrupting nobody.
#include <memory>

#include "arch/arch.h"
#include "arch/tlb_common.h"
#include "check/invariants.h"
#include "kernel/kernel.h"
#include "kernel/smp.h"

namespace sd::arch {
namespace {

using kern::kernel;
using mm::mm_struct;
using mm::va_t;

constexpr va_t tlb_single_page_flush_ceiling = 33;  // pages (stride units), tlb.c
constexpr sim::sim_time HZ_NS = 1'000'000'000;      // should_trim_cpumask: once per second

struct flush_tlb_info {
  mm_struct* mm = nullptr;
  va_t start = 0;
  va_t end = 0;
  unsigned stride_shift = mm::PAGE_SHIFT;
  bool freed_tables = false;
  std::uint64_t new_tlb_gen = 0;
  unsigned initiating_cpu = 0;
  bool trim_cpumask = false;
};

std::uint32_t ctx_id(const mm_struct& mm) {
  return mm.id + 1;
}

enum class flavour { native, kvm, invlpgb };

// TLB tag of a global ASID: apart from the 6 dynamic slots.
constexpr std::uint32_t k_global_asid_base = 0x1000;
// is_global_asid(): dynamic ASIDs are 0 .. TLB_NR_DYN_ASIDS - 1.
bool is_global_asid(std::uint32_t asid) {
  return asid >= hw::TLB_NR_DYN_ASIDS;
}
// mm_needs_global_asid(): the mm has a global ASID and this CPU does not use it yet.
bool needs_global_asid(const mm_struct& mm, std::uint32_t asid) {
  return mm.global_asid && asid != mm.global_asid;
}

class x86 final : public arch_ops {
 public:
  explicit x86(flavour f) : flavour_(f) {}
  std::string_view name() const override {
    switch (flavour_) {
      case flavour::kvm:
        return "x86-kvm";
      case flavour::invlpgb:
        return "x86-invlpgb";
      case flavour::native:
        break;
    }
    return "x86";
  }
  bool maintains_mm_cpumask() const override { return true; }
  // arch/x86/Kconfig selects MMU_GATHER_MERGE_VMAS.
  bool merge_vmas() const override { return true; }

  // asm/tlb.h tlb_flush(): the gather's range, or everything for fullmm/need_flush_all.
  sim::task<> tlb_flush(kernel& k, unsigned cpu, mm::mmu_gather& tlb) override {
    va_t start = 0, end = mm::TLB_FLUSH_ALL;
    const unsigned stride_shift = tlb_get_unmap_shift(tlb);
    if (!tlb.fullmm && !tlb.need_flush_all) {
      start = tlb.start;
      end = tlb.end;
    }
    // Seeds 000/001: wake_lazy_cpus = freed_tables || unshared_tables, so an unshare flush
    // reaches lazy CPUs (their walk caches may point into the unshared table).
    const bool wake_lazy =
        tlb.freed_tables ||
        (tlb.unshared_tables && k.patch(patches::feature::x86_wake_lazy_on_unshare) &&
         k.knob(patches::knob::wake_lazy_on_unshared_tables));
    co_await flush_tlb_mm_range(k, cpu, *tlb.mm, start, end, stride_shift, wake_lazy);
  }

  sim::task<> flush_tlb_range(kernel& k, unsigned cpu, mm_struct& mm, va_t start,
                              va_t end) override {
    co_await flush_tlb_mm_range(k, cpu, mm, start, end, mm::PAGE_SHIFT, true);
  }

  sim::task<> flush_tlb_mm(kernel& k, unsigned cpu, mm_struct& mm) override {
    co_await flush_tlb_mm_range(k, cpu, mm, 0, mm::TLB_FLUSH_ALL, mm::PAGE_SHIFT, true);
  }

  sim::task<> flush_tlb_page(kernel& k, unsigned cpu, mm_struct& mm, va_t va) override {
    co_await flush_tlb_mm_range(k, cpu, mm, va, va + mm::PAGE_SIZE, mm::PAGE_SHIFT, false);
  }
  // arch/x86/mm/pgtable.c ptep_set_access_flags(): sets the PTE, flushes nothing. A stale
  // read-only entry elsewhere faults once; the fault drops it (fault_invalidates_tlb_entry).
  sim::task<> ptep_set_access_flags(kernel&, unsigned, mm_struct&, va_t) override { co_return; }
  // asm/pgtable.h: a no-op on x86 (the hardware re-walks after a fault).
  sim::task<> flush_tlb_fix_spurious_fault(kernel&, unsigned, mm_struct&, va_t) override {
    co_return;
  }
  // arch/x86/include/asm/tlbflush.h pte_needs_flush(): not present before -> no flush; PFN
  // changed -> flush; else flush iff PRESENT/DIRTY was cleared or RW/USER/PSE changed.
  bool pte_needs_flush(const kernel&, mm::pt_entry o, mm::pt_entry n) const override {
    if (!o.present()) return false;
    if (o.pfn != n.pfn) return true;
    constexpr std::uint8_t flush_on_clear = mm::_PAGE_PRESENT | mm::_PAGE_DIRTY;
    constexpr std::uint8_t flush_on_change = mm::_PAGE_RW | mm::_PAGE_USER | mm::_PAGE_PSE;
    if ((o.flags & flush_on_clear) & ~n.flags) return true;
    return ((o.flags ^ n.flags) & flush_on_change) != 0;
  }
  bool fault_invalidates_tlb_entry() const override { return true; }

  sim::task<> switch_mm_irqs_off(kernel& k, unsigned cpu, mm_struct& next) override;
  // Seed 000/001 x86 part: the static key tlb_ipi_broadcast_key is on when the flush is
  // native_flush_tlb_multi (no paravirt backend) and INVLPGB is absent: then a flush with
  // the wake-lazy bit IPI'd and waited for every CPU that can be in a lockless walk.
  bool tlb_table_flush_implies_ipi_broadcast(const kernel& k) const override {
    if (flavour_ == flavour::kvm && k.patch(patches::feature::skip_redundant_sync_ipi_kvm))
      return true;  // the variant objected to in review: the PV flush skips preempted vCPUs
    return flavour_ == flavour::native && k.patch(patches::feature::skip_redundant_sync_ipi);
  }
  void enter_lazy_tlb(kernel& k, unsigned cpu) override {
    hw::cpu& c = k.cpus[cpu];
    if (c.loaded_mm != &k.init_mm()) c.is_lazy = true;
  }

 private:
  // broadcast_tlb_flush(): INVLPGB over the range (or the whole ASID), then TLBSYNC.
  sim::task<> broadcast_tlb_flush(kernel& k, unsigned cpu, const flush_tlb_info& info);
  // consider_global_asid(): after an IPI flush, give a global ASID to an mm that is loaded
  // and not lazy on more than 3 CPUs. The kernel samples this about once in 32 jiffies;
  // the model checks at every IPI flush (the steady state of a long-running process).
  void consider_global_asid(kernel& k, mm_struct& mm);
  // kvm_flush_tlb_multi(): the targets minus preempted vCPUs, which flush at VM entry.
  mm::cpumask kvm_targets(kernel& k, unsigned cpu, const mm_struct& mm);

  sim::task<> flush_tlb_mm_range(kernel& k, unsigned cpu, mm_struct& mm, va_t start, va_t end,
                                 unsigned stride_shift, bool freed_tables);
  sim::task<> flush_tlb_func(kernel& k, unsigned cpu, const flush_tlb_info& f);
  static bool should_flush_tlb(const kernel& k, unsigned cpu, const flush_tlb_info& f);

  flavour flavour_;
};

sim::task<> x86::flush_tlb_mm_range(kernel& k, unsigned cpu, mm_struct& mm, va_t start, va_t end,
                                    unsigned stride_shift, bool freed_tables) {
  kern::trace_scope ts(k, cpu, "flush_tlb_mm_range");
  const sim::sim_time t0 = k.eng.step_end();
  const std::uint64_t seq0 = mm.pte_change_seq;
  // inc_mm_tlb_gen(): a full barrier that pairs with switch_mm_irqs_off's tlb_gen read.
  co_await k.step(cost::param::atomic);
  flush_tlb_info info;
  info.mm = &mm;
  info.new_tlb_gen = ++mm.tlb_gen;
  info.stride_shift = stride_shift;
  info.freed_tables = freed_tables;
  info.initiating_cpu = cpu;
  if (end == mm::TLB_FLUSH_ALL || ((end - start) >> stride_shift) > tlb_single_page_flush_ceiling) {
    info.start = 0;
    info.end = mm::TLB_FLUSH_ALL;
  } else {
    info.start = start;
    info.end = end;
  }

  hw::cpu& c = k.cpus[cpu];
  k.note_flush_request(cpu);
  k.flush_sent_ipi = false;
  if (flavour_ == flavour::invlpgb && mm.global_asid) {
    co_await broadcast_tlb_flush(k, cpu, info);
  } else if (mm.cpumask_.any_but(cpu)) {
    if (k.eng.now() >= mm.next_trim_cpumask) {
      mm.next_trim_cpumask = k.eng.now() + HZ_NS;
      info.trim_cpumask = true;
    }
    // native_flush_tlb_multi()
    k.count_flush("remote_send_ipi");
    kern::smp_call_func_t func = [this, &info](kernel& kk, unsigned t) {
      return flush_tlb_func(kk, t, info);
    };
    const mm::cpumask targets = flavour_ == flavour::kvm ? kvm_targets(k, cpu, mm) : mm.cpumask_;
    unsigned remote = 0;
    if (info.freed_tables && k.knob(patches::knob::wake_lazy_on_freed_tables)) {
      co_await kern::on_each_cpu_mask(k, cpu, targets, func, kern::ipi_kind::tlb_flush, &remote);
    } else {
      co_await kern::on_each_cpu_cond_mask(
          k, cpu, [&k, &info](unsigned t) { return should_flush_tlb(k, t, info); }, func, targets,
          kern::ipi_kind::tlb_flush, &remote);
    }
    // Seed 002 (v3): info->sent_ipi -> tlb->tlb_flush_sent_ipi, read by collapse. Intended:
    // only the native backend (under KVM a preempted vCPU was skipped, so the IPIs fenced
    // nobody there). As posted, native_flush_tlb_multi sets it, and kvm_flush_tlb_multi
    // calls it for the vCPUs left after dropping the preempted ones.
    const bool records =
        flavour_ == flavour::native ||
        (flavour_ == flavour::kvm && k.patch(patches::feature::collapse_flush_sync_as_posted));
    k.flush_sent_ipi = records && remote > 0;
    if (flavour_ == flavour::invlpgb) consider_global_asid(k, mm);
  } else if (c.loaded_mm == &mm) {
    k.local_irq_disable(cpu);
    co_await flush_tlb_func(k, cpu, info);
    k.local_irq_enable(cpu);
  }
  check::flush_completed(k, cpu, mm, start, end, seq0);
  k.stats.flush_ns += k.eng.step_end() - t0;
}

mm::cpumask x86::kvm_targets(kernel& k, unsigned cpu, const mm_struct& mm) {
  mm::cpumask targets = mm.cpumask_;
  const sim::sim_time now = k.eng.now();
  mm.cpumask_.for_each([&](unsigned t) {
    if (t == cpu || !k.vcpu.preempted_until(t, now)) return;
    // KVM_VCPU_FLUSH_TLB: the host flushes the whole guest TLB before the vCPU runs again;
    // it cannot run before then, so the model flushes it now.
    targets.clear(t);
    if (k.knob(patches::knob::kvm_flush_on_entry)) k.cpus[t].tlb.flush_all();
    k.count_flush("kvm_preempted_skip");
  });
  return targets;
}

void x86::consider_global_asid(kernel& k, mm_struct& mm) {
  if (mm.global_asid) return;
  unsigned active = 0;
  for (const auto& c : k.cpus) active += c.loaded_mm == &mm && !c.is_lazy ? 1 : 0;
  if (active <= 3) return;
  mm.global_asid = k_global_asid_base + mm.id;
  mm.asid_transition = true;  // CPUs still on dynamic ASIDs until they reload
}

sim::task<> x86::broadcast_tlb_flush(kernel& k, unsigned cpu, const flush_tlb_info& info) {
  mm_struct& mm = *info.mm;
  const std::uint64_t pages =
      info.end == mm::TLB_FLUSH_ALL ? 1 : (info.end - info.start) >> info.stride_shift;
  // invlpgb_count_max pages per INVLPGB (CPUID); 8 assumed (Zen 4 reports 8).
  const auto ops = static_cast<std::int64_t>((pages + 7) / 8);
  co_await k.step(cost::param::invlpgb_op, ops);
  // TLBSYNC: waits until the INVLPGBs this CPU issued completed on every CPU
  // (arch/x86/include/asm/tlb.h __tlbsync; INVLPGB itself is weakly ordered).
  const bool tlbsync = k.knob(patches::knob::tlbsync_after_invlpgb);
  if (tlbsync) co_await k.step(cost::param::tlbsync);
  k.count_flush("invlpgb");
  // Every CPU's TLB entries under the global ASID, lazy CPUs included, and the walk caches
  // too: invlpgb_flush_user_nr_nosync() issues INVLPGB_FLAG_PCID | INVLPGB_FLAG_VA, never
  // FINAL_ONLY (arch/x86/include/asm/tlb.h, 2026; an earlier posting set it without
  // freed_tables). Without TLBSYNC only the local completion is sure; the others stay pending.
  broadcast_invalidation(
      k, cpu, {mm.global_asid, info.start, info.end, info.end == mm::TLB_FLUSH_ALL, false},
      tlbsync);
  // finish_asid_transition(): a CPU running the mm on a dynamic ASID needs the IPI flush.
  if (mm.asid_transition) {
    bool stragglers = false;
    for (const auto& c : k.cpus)
      stragglers = stragglers || (c.loaded_mm == &mm && c.loaded_asid != mm.global_asid);
    if (stragglers) {
      // flush_tlb_multi() -> native_flush_tlb_multi(), which traces TLB_REMOTE_SEND_IPI.
      k.count_flush("remote_send_ipi");
      kern::smp_call_func_t func = [this, &info](kernel& kk, unsigned t) {
        return flush_tlb_func(kk, t, info);
      };
      co_await kern::on_each_cpu_mask(k, cpu, mm.cpumask_, func, kern::ipi_kind::tlb_flush);
    } else {
      mm.asid_transition = false;
    }
  }
}

bool x86::should_flush_tlb(const kernel& k, unsigned cpu, const flush_tlb_info& f) {
  const hw::cpu& c = k.cpus[cpu];
  if (c.is_lazy) return false;  // catches up via tlb_gen at its next switch
  if (c.switching) return true;
  if (c.loaded_mm == f.mm) return true;
  return f.trim_cpumask;
}

sim::task<> x86::flush_tlb_func(kernel& k, unsigned cpu, const flush_tlb_info& f) {
  hw::cpu& c = k.cpus[cpu];
  const bool local = cpu == f.initiating_cpu;
  if (!local) ++k.stats.tlb_irqs;         // inc_irq_stat(irq_tlb_count)
  co_await k.step(cost::param::pt_read);  // loaded_mm, loaded_mm_asid
  if (f.mm && f.mm != c.loaded_mm) {
    // Stale cpumask bit (mm_cpumask is updated lazily since 2024): drop out of the mask.
    f.mm->cpumask_.clear(cpu);
    k.count_flush("remote_wrong_cpu");
    co_return;
  }
  if (c.loaded_mm == &k.init_mm()) co_return;
  // mm_needs_global_asid(): a CPU still on a dynamic ASID of an mm that has a global one
  // reloads onto it (switch_mm_irqs_off of the same mm: no flush, and it leaves lazy mode);
  // the global ASID is kept coherent by the broadcasts. Checked before the lazy test.
  if (needs_global_asid(*c.loaded_mm, c.loaded_asid))
    co_await switch_mm_irqs_off(k, cpu, *c.loaded_mm);
  if (is_global_asid(c.loaded_asid)) co_return;
  if (c.is_lazy) {
    // Lazy: switching to init_mm also drops the walk caches' view of the old tables.
    co_await switch_mm_irqs_off(k, cpu, k.init_mm());
    co_return;
  }
  hw::tlb_context& slot = c.ctxs[c.loaded_asid];
  const std::uint64_t local_gen = slot.tlb_gen;
  if (f.new_tlb_gen <= local_gen) co_return;  // already caught up
  co_await k.step(cost::param::remote_read);  // mm->context.tlb_gen, read as late as possible
  const std::uint64_t mm_gen = f.mm->tlb_gen;
  if (local_gen != mm_gen) {
    if (local_gen > mm_gen) check::report_tlb_gen_regression(k, cpu, *f.mm, local_gen, mm_gen);
    if (f.end != mm::TLB_FLUSH_ALL && f.new_tlb_gen == local_gen + 1 && f.new_tlb_gen == mm_gen) {
      // Partial flush: one INVLPG per stride step. INVLPG also drops every
      // paging-structure-cache entry of the current PCID (Intel SDM 4.10.4.1).
      const std::int64_t n = static_cast<std::int64_t>((f.end - f.start) >> f.stride_shift);
      co_await k.step(cost::param::invlpg, n);
      // INVLPG of an address inside a huge page drops the whole huge entry.
      const va_t stride = va_t{1} << f.stride_shift;
      for (va_t a = f.start; a < f.end; a += stride)
        c.tlb.flush_leaf_range(c.loaded_asid, a, a + stride);
      c.tlb.flush_walk_all(c.loaded_asid);
    } else {
      co_await k.step(cost::param::flush_full);
      c.tlb.flush_asid(c.loaded_asid);
    }
    slot.tlb_gen = mm_gen;
  }
  k.count_flush(local ? "local_mm_shootdown" : "remote_shootdown");
}

sim::task<> x86::switch_mm_irqs_off(kernel& k, unsigned cpu, mm_struct& next) {
  hw::cpu& c = k.cpus[cpu];
  mm_struct* prev = c.loaded_mm;
  const bool was_lazy = c.is_lazy;
  c.is_lazy = false;
  co_await k.step(cost::param::switch_mm);
  // Every path that reloads CR3 traces TLB_FLUSH_ON_TASK_SWITCH (with TLB_FLUSH_ALL or 0
  // pages): every cross-mm switch, a same-mm move onto the global ASID, a lazy catch-up.
  if (prev == &next) {
    if (needs_global_asid(next, c.loaded_asid)) {  // reload onto it, no flush
      c.loaded_asid = next.global_asid;
      k.count_flush("task_switch");
      co_return;
    }
    if (is_global_asid(c.loaded_asid) || !was_lazy) co_return;
    // Leaving lazy mode for the same mm: flushes may have skipped us; catch up via tlb_gen.
    co_await k.step(cost::param::remote_read);
    hw::tlb_context& slot = c.ctxs[c.loaded_asid];
    if (slot.tlb_gen < next.tlb_gen && k.knob(patches::knob::switch_mm_tlb_gen_catchup)) {
      co_await k.step(cost::param::flush_full);
      c.tlb.flush_asid(c.loaded_asid);
      slot.tlb_gen = next.tlb_gen;
      k.count_flush("task_switch");
    }
    co_return;
  }
  // Publish LOADED_MM_SWITCHING, set our bit in next's cpumask (a full barrier), then read
  // tlb_gen: either we see a concurrent flush's new generation or it sees us and IPIs us.
  c.switching = true;
  const bool set_bit = &next != &k.init_mm() && !next.cpumask_.test(cpu);
  const bool bit_first = k.knob(patches::knob::cpumask_before_tlb_gen);
  if (set_bit && bit_first) {
    co_await k.step(cost::param::atomic);
    next.cpumask_.set(cpu);
  }
  co_await k.step(cost::param::remote_read);
  const std::uint64_t next_tlb_gen = next.tlb_gen;
  if (set_bit && !bit_first) {  // test-only fault: the bit after the tlb_gen read
    co_await k.step(cost::param::atomic);
    next.cpumask_.set(cpu);
  }
  if (next.global_asid) {  // choose_new_asid(): a global ASID needs no flush at switch
    c.load_mm(next);
    c.loaded_asid = next.global_asid;
    c.switching = false;
    k.count_flush("task_switch");  // 0 pages
    co_return;
  }
  // choose_new_asid()
  std::uint32_t asid = hw::TLB_NR_DYN_ASIDS;
  bool need_flush = true;
  for (std::uint32_t i = 0; i < hw::TLB_NR_DYN_ASIDS; ++i)
    if (c.ctxs[i].ctx_id == ctx_id(next)) {
      asid = i;
      need_flush =
          c.ctxs[i].tlb_gen < next_tlb_gen && k.knob(patches::knob::switch_mm_tlb_gen_catchup);
      break;
    }
  if (asid == hw::TLB_NR_DYN_ASIDS) {
    asid = c.next_asid++;
    if (asid >= hw::TLB_NR_DYN_ASIDS) {
      asid = 0;
      c.next_asid = 1;
    }
  }
  if (need_flush) {
    c.ctxs[asid] = {ctx_id(next), next_tlb_gen};
    c.tlb.flush_asid(asid);  // load CR3 without NOFLUSH
  }
  k.count_flush("task_switch");  // TLB_FLUSH_ALL pages if it flushed, else 0
  c.load_mm(next);
  c.loaded_asid = asid;
  c.switching = false;
}

}  // namespace

std::unique_ptr<arch_ops> make_x86() {
  return std::make_unique<x86>(flavour::native);
}
std::unique_ptr<arch_ops> make_x86_kvm() {
  return std::make_unique<x86>(flavour::kvm);
}
std::unique_ptr<arch_ops> make_x86_invlpgb() {
  return std::make_unique<x86>(flavour::invlpgb);
}

}  // namespace sd::arch
