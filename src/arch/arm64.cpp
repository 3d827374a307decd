// arm64: broadcast TLBI + DSB, no IPIs for TLB maintenance (arch/arm64/include/asm/tlb.h,
// tlbflush.h, 6.x / 2026). Remote CPUs are never interrupted, so a flush fences no
// IRQs-off walker: table freeing relies on RCU and reuse on tlb_remove_table_sync_one.
#include <memory>

#include "arch/arch.h"
#include "arch/tlb_common.h"
#include "check/invariants.h"
#include "kernel/kernel.h"

namespace sd::arch {
namespace {

using kern::kernel;
using mm::mm_struct;
using mm::va_t;

// MAX_TLBI_RANGE_PAGES = __TLBI_RANGE_PAGES(31, 3): 32 << 16 pages (FEAT_TLBIRANGE).
constexpr std::uint64_t MAX_TLBI_RANGE_PAGES = std::uint64_t{32} << 16;
// MAX_DVM_OPS = PTRS_PER_PTE: without range TLBIs, this many single ops or more -> flush_tlb_mm.
constexpr std::uint64_t MAX_DVM_OPS = 512;

// How many TLBI instructions __flush_tlb_range_op issues for `pages` 4 KiB pages: without
// FEAT_TLBIRANGE one per stride; with it, range ops from scale 3 down to 0 (each covering
// (num+1) << (5*scale+1) pages) and a single op for an odd remainder (e2768b798a19).
std::uint64_t tlbi_ops_for(std::uint64_t pages, std::uint64_t stride_pages, bool range) {
  if (!range || pages == 1) return (pages + stride_pages - 1) / stride_pages;
  std::uint64_t ops = 0;
  for (int scale = 3; scale >= 0 && pages > 0; --scale) {
    const unsigned shift = 5 * static_cast<unsigned>(scale) + 1;
    const std::uint64_t num_plus_1 = pages >> shift;
    if (num_plus_1 == 0) continue;
    ++ops;
    pages -= num_plus_1 << shift;
  }
  return ops + (pages ? 1 : 0);
}

class arm64 final : public arch_ops {
 public:
  std::string_view name() const override { return "arm64"; }
  bool maintains_mm_cpumask() const override { return false; }
  // Assumption: arch/arm64/Kconfig does not select MMU_GATHER_MERGE_VMAS (only x86, s390,
  // powerpc, loongarch were seen selecting it), so tlb_end_vma() flushes per VMA.
  bool merge_vmas() const override { return false; }

  // asm/tlb.h tlb_flush(): leaf-only unless tables were freed; fullmm flushes only when
  // tables were freed (the ASID allocator never reuses an ASID without a full flush).
  sim::task<> tlb_flush(kernel& k, unsigned cpu, mm::mmu_gather& tlb) override {
    // With c2ff4764e03e ("arm64: tlb: Flush walk cache when unsharing PMD tables", 2026,
    // Fixes 8ce720d) unsharing counts like freeing: the walk cache may point at the unshared
    // PMD table. Without it (v7.0, 6.18.13) the unshare flush is leaf-only.
    const bool unshared =
        tlb.unshared_tables && k.patch(patches::feature::arm64_unshare_walk_flush);
    const bool last_level = !(tlb.freed_tables || unshared);
    if (tlb.fullmm) {
      if (!last_level) co_await flush_tlb_mm(k, cpu, *tlb.mm);
      co_return;
    }
    const unsigned stride_shift = tlb_get_unmap_shift(tlb);
    co_await flush_range(k, cpu, *tlb.mm, tlb.start, tlb.end, stride_shift, last_level);
  }

  sim::task<> flush_tlb_range(kernel& k, unsigned cpu, mm_struct& mm, va_t start,
                              va_t end) override {
    co_await flush_range(k, cpu, mm, start, end, mm::PAGE_SHIFT, false);
  }

  // DSB ISHST; TLBI ASIDE1IS; DSB ISH
  sim::task<> flush_tlb_mm(kernel& k, unsigned cpu, mm_struct& mm) override {
    co_await broadcast(k, cpu, mm, 0, mm::TLB_FLUSH_ALL, 1, false, true);
  }

  // flush_tlb_page(): TLBI VALE1IS (level 3, leaf only) + DSB ISH.
  sim::task<> flush_tlb_page(kernel& k, unsigned cpu, mm_struct& mm, va_t va) override {
    co_await broadcast(k, cpu, mm, va, va + mm::PAGE_SIZE, 1, true, false);
  }
  // __ptep_set_access_flags_anysz() after making a PTE writable: with the 2025 local-flush
  // patch (kernel-mechanisms 3.5) it flushes only this CPU (NOWALKCACHE | NOBROADCAST);
  // before it, a broadcast flush_tlb_page.
  sim::task<> ptep_set_access_flags(kernel& k, unsigned cpu, mm_struct& mm, va_t va) override {
    co_await flush_stale_readonly(k, cpu, mm, va);
  }
  // arch/arm64/include/asm/pgtable.h flush_tlb_fix_spurious_fault(): an empty macro before
  // the patch (TLBIs were always broadcast, so a spurious fault needed no invalidation; the
  // reference notes' "generic broadcast default" does not apply to arm64); with it,
  // local_flush_tlb_page_nonotify().
  sim::task<> flush_tlb_fix_spurious_fault(kernel& k, unsigned cpu, mm_struct& mm,
                                           va_t va) override {
    if (k.patch(patches::feature::arm64_wp_reuse_local_flush))
      co_await local_flush_tlb_page(k, cpu, mm, va);
  }
  // c320dbb pte_needs_flush(): no flush if the old entry was invalid (PROT_NONE is invalid
  // on arm64); software bits (PTE_PROT_NONE) ignored; else flush iff anything differs.
  // Without it the generic pte_needs_flush() always says yes.
  bool pte_needs_flush(const kernel& k, mm::pt_entry o, mm::pt_entry n) const override {
    if (!k.patch(patches::feature::arm64_pte_needs_flush)) return true;
    if (!o.present()) return false;
    constexpr std::uint8_t sw = mm::_PAGE_PROTNONE;
    return o.pfn != n.pfn || ((o.flags ^ n.flags) & ~sw) != 0;
  }
  bool fault_invalidates_tlb_entry() const override { return false; }

  // check_and_switch_context(): the mm's ASID is global; no flush unless the ASID
  // generation rolled over (rollover is not modeled).
  sim::task<> switch_mm_irqs_off(kernel& k, unsigned cpu, mm_struct& next) override {
    hw::cpu& c = k.cpus[cpu];
    c.is_lazy = false;
    co_await k.step(cost::param::switch_mm);
    c.load_mm(next);
    c.loaded_asid = next.id;
  }
  // A kthread keeps the previous TTBR0; the TLBI broadcast reaches this CPU anyway.
  void enter_lazy_tlb(kernel& k, unsigned cpu) override {
    hw::cpu& c = k.cpus[cpu];
    if (c.loaded_mm != &k.init_mm()) c.is_lazy = true;
  }

 private:
  sim::task<> flush_stale_readonly(kernel& k, unsigned cpu, mm_struct& mm, va_t va) {
    if (k.patch(patches::feature::arm64_wp_reuse_local_flush))
      co_await local_flush_tlb_page(k, cpu, mm, va);
    else
      co_await flush_tlb_page(k, cpu, mm, va);
  }
  // TLBI VALE1 + DSB NSH: this CPU only.
  sim::task<> local_flush_tlb_page(kernel& k, unsigned cpu, mm_struct& mm, va_t va) {
    const sim::sim_time t0 = k.eng.step_end();
    co_await k.step_ns(k.c(cost::param::tlbi_op) + k.c(cost::param::dsb_nsh), "tlbi + dsb nsh");
    k.cpus[cpu].tlb.flush_leaf_range(mm.id, va, va + mm::PAGE_SIZE);
    k.note_flush_request(cpu);
    k.count_flush("tlbi_local");
    k.stats.flush_ns += k.eng.step_end() - t0;
  }

  // __flush_tlb_range(): falls back to flush_tlb_mm past the DVM-op limit.
  sim::task<> flush_range(kernel& k, unsigned cpu, mm_struct& mm, va_t start, va_t end,
                          unsigned stride_shift, bool last_level) {
    const va_t stride = va_t{1} << stride_shift;
    start &= ~(stride - 1);
    end = (end + stride - 1) & ~(stride - 1);
    const std::uint64_t pages = (end - start) >> mm::PAGE_SHIFT;
    const std::uint64_t stride_pages = stride >> mm::PAGE_SHIFT;
    const bool range = tlbi_range_supported;
    if ((!range && pages >= MAX_DVM_OPS * stride_pages) || pages > MAX_TLBI_RANGE_PAGES) {
      co_await flush_tlb_mm(k, cpu, mm);
      co_return;
    }
    co_await broadcast(k, cpu, mm, start, end, tlbi_ops_for(pages, stride_pages, range), last_level,
                       false);
  }

  sim::task<> broadcast(kernel& k, unsigned cpu, mm_struct& mm, va_t start, va_t end,
                        std::uint64_t ops, bool last_level, bool whole_asid);

  bool tlbi_range_supported = true;  // FEAT_TLBIRANGE (Armv8.4), present on current servers
  unsigned broadcasters_ = 0;        // CPUs between their TLBIs and DSB completion
};

sim::task<> arm64::broadcast(kernel& k, unsigned cpu, mm_struct& mm, va_t start, va_t end,
                             std::uint64_t ops, bool last_level, bool whole_asid) {
  kern::trace_scope ts(k, cpu, "tlbi_broadcast");
  const sim::sim_time t0 = k.eng.step_end();
  const std::uint64_t seq0 = mm.pte_change_seq;
  // DSB ISHST, then the TLBIs: broadcast to every CPU of the inner-shareable domain.
  co_await k.step(cost::param::tlbi_op, static_cast<std::int64_t>(ops));
  k.note_flush_request(cpu);
  k.flush_sent_ipi = false;
  k.stats.tlbi_broadcasts += ops;
  k.count_flush(whole_asid ? "tlbi_asid" : (last_level ? "tlbi_range_leaf" : "tlbi_range"));
  // DSB ISH: waits until every CPU completed the invalidations. Completion time grows with
  // the CPU count and with concurrent broadcasters. Without it (test-only fault) nothing
  // says the other CPUs completed them when the flush returns: only the local one is sure.
  const bool dsb_wait = k.knob(patches::knob::arm64_dsb_after_tlbi);
  if (dsb_wait) {
    ++broadcasters_;
    const sim::sim_time dsb = k.c(cost::param::dsb_ish_base) +
                              k.c(cost::param::dsb_ish_per_cpu) * k.ncpus() +
                              k.c(cost::param::dsb_ish_per_broadcaster) * (broadcasters_ - 1);
    co_await k.step_ns(dsb, "dsb ish");
    --broadcasters_;
    ++k.stats.dsb_waits;
  }
  // The invalidation is guaranteed complete everywhere at the DSB (pitfall s12.14: issue
  // and completion are separate events), so it is applied here; without the DSB only the
  // local CPU's is, the others' stay pending.
  broadcast_invalidation(k, cpu, {mm.id, start, end, whole_asid, last_level}, dsb_wait);
  check::flush_completed(k, cpu, mm, start, end, seq0);
  k.stats.flush_ns += k.eng.step_end() - t0;
}

}  // namespace

std::unique_ptr<arch_ops> make_arm64() {
  return std::make_unique<arm64>();
}

}  // namespace sd::arch
