#include "cost/cost_model.h"

namespace sd::cost {

namespace {
// Sources are in ../shared/reference/anchors.md (section 4, "Cost constants") and
// kernel-mechanisms.md section 10. "estimate" marks a figure no source pins down; those
// are the first to calibrate with `shootdown host` on real hardware.
constexpr std::array<param_info, param_count> k_params{{
    {param::pt_read, "pt_read", "read one page-table entry (cache hit)", "estimate", 2, 2},
    {param::pt_write, "pt_write", "write one page-table entry", "estimate", 5, 5},
    {param::atomic, "atomic", "atomic RMW / lock acquire or release", "estimate", 20, 20},
    {param::remote_read, "remote_read",
     "read another CPU's per-CPU state (cache-line transfer) in an IPI predicate",
     "anchors.md s4: core-to-core line transfer ~60-270 ns (nviennot/core-to-core-latency)", 100,
     100},
    {param::page_alloc, "page_alloc", "allocate and zero a 4 KiB page", "estimate", 250, 250},
    {param::page_free, "page_free", "free one page to the allocator", "estimate", 50, 50},
    {param::exception_entry, "exception_entry", "page-fault entry and return", "estimate", 300,
     300},
    {param::syscall_entry, "syscall_entry", "system call entry and return", "estimate", 100, 100},
    {param::irq_entry, "irq_entry", "receiving core's IPI entry + exit",
     "anchors.md s4: 1,212 cycles on the receiving core (Shinjuku, NSDI'19) ~ 400 ns @3 GHz", 400,
     400},
    {param::ipi_send, "ipi_send", "sender's base cost of one smp_call_function_many_cond",
     "anchors.md s4 LOW: ~1 us base round trip (unseel.com); split send/delivery", 300, 300},
    {param::ipi_per_target, "ipi_per_target", "sender's cost per targeted CPU (CSD + APIC write)",
     "anchors.md s4 LOW: ~0.2 us per extra target (unseel.com)", 200, 200},
    {param::ipi_delivery, "ipi_delivery", "latency from APIC write to the target taking the IRQ",
     "anchors.md s4 LOW: ~1 us base round trip minus send", 700, 700},
    {param::ipi_post_lead, "ipi_post_lead",
     "x86-kvm PV send-IPI: how long before the sender's hypercall returns the targets' "
     "interrupts are posted (a target in its own hypercall then takes it on return)",
     "x86-kvm only, 900 ns there (0 elsewhere): measured on a Firecracker KVM guest, "
     "docs/model.md",
     0, 0},
    {param::invlpg, "invlpg", "x86 INVLPG of one page",
     "arch/x86/mm/tlb.c: 'Each single flush is about 100 ns'", 100, 0},
    {param::invlpgb_op, "invlpgb_op", "AMD INVLPGB: issue one broadcast invalidation",
     "estimate (anchors.md s4: no per-instruction latency published)", 100, 0},
    {param::tlbsync, "tlbsync", "AMD TLBSYNC: wait until this CPU's INVLPGBs completed everywhere",
     "estimate (anchors.md s4: no per-instruction latency published)", 500, 0},
    {param::flush_full, "flush_full", "x86 local full flush (CR3 write) excluding refill",
     "anchors.md s4: 96 cycles (Molnar 2015) ~ 32 ns @3 GHz", 32, 0},
    {param::switch_mm, "switch_mm", "switch_mm_irqs_off / check_and_switch_context body",
     "estimate", 200, 200},
    {param::hw_walk_level, "hw_walk_level", "hardware page walk, per level read from cache",
     "anchors.md s4: TLB refill ~100 ns assumed for 4 levels (Alex Shi 2012)", 25, 25},
    {param::tlb_hit, "tlb_hit", "user access that hits the TLB", "estimate", 1, 1},
    {param::tlbi_op, "tlbi_op", "issue one broadcast TLBI instruction",
     "estimate (anchors.md s4: no per-instruction figure published)", 0, 20},
    {param::dsb_ish_base, "dsb_ish_base", "DSB ISH waiting for broadcast TLBIs to complete",
     "estimate (anchors.md s4: no per-instruction figure published)", 0, 300},
    {param::dsb_ish_per_cpu, "dsb_ish_per_cpu",
     "extra DSB ISH latency per CPU in the inner-shareable domain",
     "estimate: broadcast completion grows with CPU count (Linaro MAD24-316)", 0, 2},
    {param::dsb_ish_per_broadcaster, "dsb_ish_per_broadcaster",
     "extra DSB ISH latency per other CPU broadcasting TLBIs at the same time",
     "anchors.md s4: latency grows ~linearly with concurrent broadcasters (Arcangeli 2020)", 0,
     150},
    {param::rcu_gp, "rcu_gp", "minimum length of a normal RCU grace period",
     "kernel-mechanisms.md s9: ms-scale, estimate", 3'000'000, 3'000'000},
    {param::dsb_nsh, "dsb_nsh", "arm64 DSB NSH after a local-only TLBI",
     "estimate: a local barrier, no broadcast to wait for", 0, 30},
    {param::page_copy, "page_copy", "copy one 4 KiB page (CoW copy, khugepaged copy per subpage)",
     "estimate: 4 KiB at ~20 GB/s", 200, 200},
    {param::page_move, "page_move",
     "UFFDIO_MOVE per-page work besides the PTE writes and flush (vm_normal_folio, folio lock, "
     "rmap/index move)",
     "estimate; seed 003 (5094469): ~20% of move_pages_pte in vm_normal_folio before batching", 300,
     300},
    {param::mprotect_vma, "mprotect_vma",
     "mprotect's VMA work per call (find, vma_modify_flags, merge, vm_page_prot update)",
     "calibrated: makes the arm64 NONE->RW call without a flush ~2.85 us as published (seed 003 "
     "c320dbb); the flush part is then predicted, not fitted",
     2'570, 2'570},
    {param::vma_dup, "vma_dup", "fork: duplicate one VMA (vm_area_dup, anon_vma_fork, links)",
     "estimate", 1'000, 1'000},
    {param::pmd_share_lookup, "pmd_share_lookup",
     "huge_pmd_share: walk the file's i_mmap interval tree for a shareable PMD table", "estimate",
     300, 300},
}};

// params()[p] is p's entry (kernel::step labels its steps with the name, calibrate names its
// fits): the table is in the enum's order.
constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < k_params.size(); ++i)
    if (static_cast<std::size_t>(k_params[i].id) != i) return false;
  return true;
}
static_assert(in_enum_order(), "k_params must list the parameters in enum order");
}  // namespace

const std::array<param_info, param_count>& params() {
  return k_params;
}

sim::sim_time max_value(param p) {
  return p == param::rcu_gp ? 1'000'000'000 : 100'000;
}

std::optional<param> find_param(std::string_view name) {
  for (const auto& p : k_params)
    if (p.name == name) return p.id;
  return std::nullopt;
}

std::string_view preset_name(preset p) {
  switch (p) {
    case preset::x86_server:
      return "x86-server";
    case preset::arm64_server:
      return "arm64-server";
    case preset::x86_kvm_guest:
      return "x86-kvm-guest";
  }
  return "?";
}

cost_model::cost_model(preset p) : preset_(p) {
  for (const auto& info : k_params)
    v_[static_cast<std::size_t>(info.id)] =
        p == preset::arm64_server ? info.arm64_server : info.x86_server;
  if (p == preset::x86_kvm_guest) {
    for (param ipi : {param::ipi_send, param::ipi_per_target, param::ipi_delivery})
      v_[static_cast<std::size_t>(ipi)] = v_[static_cast<std::size_t>(ipi)] * 48 / 10;
    // Two vCPUs of the Firecracker KVM guest (2026-12-05) sending flush IPIs 10,000 times
    // at once: the earlier sender still took the later one's IPI before its own local flush
    // in 95% of rounds when the later one started 500-600 ns after it, 73% at 700-900 ns,
    // 58% at 900-1,000 ns (docs/model.md).
    v_[static_cast<std::size_t>(param::ipi_post_lead)] = 900;
  }
}

}  // namespace sd::cost
