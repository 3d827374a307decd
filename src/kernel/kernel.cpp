#include "kernel/kernel.h"

#include <stdexcept>

#include "kernel/smp.h"

namespace sd::kern {

kernel::kernel(const machine_config& c, sim::scheduler& sched)
    : cfg(c), eng(sched), cost(cfg.costs), knobs(cfg.knobs), patches(cfg.patches) {
  if (cfg.cpus < 1 || cfg.cpus > MAX_CPUS)
    throw std::invalid_argument("cpus must be between 1 and 4096");
  const arch::arch_info* a = arch::find_arch(cfg.arch);
  if (!a) throw std::invalid_argument("unknown arch '" + cfg.arch + "'");
  arch = a->make();
  cpus.reserve(cfg.cpus);
  last_fault_vma.resize(cfg.cpus);
  eng.reserve_actors(cfg.cpus + 1);  // the CPUs and the RCU kthread
  for (unsigned i = 0; i < cfg.cpus; ++i) {
    cpus.emplace_back(i, mem);
    eng.add_actor();  // actor i is CPU i
  }
  call_single_queue.resize(cfg.cpus);
  if (arch->name() == "x86-kvm") pv_send_ipi.resize(cfg.cpus);
  stats.ipis_received_per_cpu.assign(cfg.cpus, 0);
  walks.resize(cfg.cpus);
  stats.flush_requests_per_cpu.assign(cfg.cpus, 0);
  eng.set_irq_entry(
      [this](sim::actor_id a) { return generic_smp_call_function_interrupt(*this, a); });

  // init_mm: the kernel's address space. Every CPU starts idle with it loaded.
  mm::mm_struct& init = new_mm("init_mm");
  for (auto& cpu : cpus) {
    cpu.load_mm(init);
    cpu.loaded_asid = 0;
    cpu.ctxs[0] = {init.id + 1, init.tlb_gen};
  }
  if (arch->name() == "x86-kvm" && cfg.vcpu_preempt_interval > 0) {
    vcpu = vcpu_preemption(cfg.cpus, cfg.seed, cfg.vcpu_preempt_interval, cfg.vcpu_preempt_time);
    eng.set_stall([this](sim::actor_id a, sim::sim_time t) -> sim::stall_answer {
      if (a < ncpus()) return vcpu.stall_at(a, t);
      return {0, 0, sim::never};  // the RCU kthread is not a vCPU
    });
  }
  // The RCU grace-period kthread is the actor after the CPUs.
  eng.start(eng.add_actor(), rcu.gp_kthread(*this));
}

std::string kernel::actor_name(sim::actor_id a) const {
  return a < ncpus() ? "CPU " + std::to_string(a) : std::string("rcu_gp kthread");
}

std::vector<std::uint32_t> kernel::cpus_among(std::initializer_list<sim::actor_id> actors) const {
  std::vector<std::uint32_t> out;
  for (auto a : actors)
    if (a < ncpus()) out.push_back(static_cast<std::uint32_t>(a));
  return out;
}

mm::mm_struct& kernel::new_mm(std::string name) {
  auto m = std::make_unique<mm::mm_struct>(cpus.size());
  m->id = static_cast<std::uint32_t>(mms.size());
  m->name = std::move(name);
  m->pgd = mem.alloc_table(mm::level::pgd, m->id);
  mms.push_back(std::move(m));
  return *mms.back();
}

mm::address_space& kernel::new_file() {
  files.push_back(std::make_unique<mm::address_space>());
  files.back()->id = static_cast<std::uint32_t>(files.size());
  return *files.back();
}

void kernel::local_irq_disable(unsigned cpu) {
  if (!eng.irqs_enabled(cpu)) return;
  eng.set_irqs_enabled(cpu, false);
  rcu.reader_enter(*this, cpu);
  if (trace) trace->irqs_off(cpu, eng.now());
}

void kernel::local_irq_enable(unsigned cpu) {
  if (eng.irqs_enabled(cpu)) return;
  rcu.reader_exit(*this, cpu);
  eng.set_irqs_enabled(cpu, true);
  if (trace) trace->irqs_on(cpu, eng.step_end());
}

}  // namespace sd::kern
