#include "program/runtime.h"

#include <stdexcept>

#include "kernel/paths.h"

namespace sd::program {

namespace {

using kern::kernel;

workload::process& current_process(runtime& rt, unsigned cpu, const op& o) {
  const int p = rt.current[cpu];
  if (p < 0)
    throw std::invalid_argument(o.origin + ": '" + o.text +
                                "' needs a process: run 'enter P' on this CPU first");
  return *rt.processes[static_cast<std::size_t>(p)];
}

sim::task<> run_op(kernel& k, unsigned cpu, const op& o, runtime& rt) {
  switch (o.kind) {
    case op_kind::enter: {
      workload::process& p = *rt.processes[static_cast<std::size_t>(o.process)];
      rt.current[cpu] = o.process;
      co_await p.enter(k, cpu);
      break;
    }
    case op_kind::switch_to: {  // context_switch to a thread that exists: no new user
      workload::process& p = *rt.processes[static_cast<std::size_t>(o.process)];
      rt.current[cpu] = o.process;
      co_await p.enter(k, cpu);
      break;
    }
    case op_kind::exit: {
      workload::process& p = current_process(rt, cpu, o);
      rt.current[cpu] = -1;
      co_await p.leave(k, cpu);
      break;
    }
    case op_kind::idle:
      co_await kern::switch_to_idle(k, cpu);
      break;
    case op_kind::user:
      co_await kern::user_run(k, cpu, o.ns);
      break;
    case op_kind::kthread_use_mm:
      co_await kern::kthread_use_mm(k, cpu, *rt.processes[static_cast<std::size_t>(o.process)]->mm);
      break;
    case op_kind::kthread_unuse_mm:  // kthread_unuse_mm(): enter_lazy_tlb, mm stays loaded
      co_await kern::switch_to_idle(k, cpu);
      k.cpus[cpu].mode = hw::cpu_mode::kernel;
      break;
    case op_kind::mmap:
      current_process(rt, cpu, o);
      co_await kern::sys_mmap(k, cpu, o.a, o.b);
      break;
    case op_kind::mmap_hugetlb:
      current_process(rt, cpu, o);
      co_await kern::sys_mmap_hugetlb(k, cpu, o.a, o.b, *rt.files[static_cast<std::size_t>(o.file)],
                                      o.c);
      break;
    case op_kind::munmap:
      current_process(rt, cpu, o);
      co_await kern::sys_munmap(k, cpu, o.a, o.b);
      break;
    case op_kind::touch:
      current_process(rt, cpu, o);
      for (unsigned i = 0; i < o.pages; ++i)
        co_await kern::user_access(k, cpu, o.a + mm::va_t{i} * mm::PAGE_SIZE, o.write);
      break;
    case op_kind::mprotect:
      current_process(rt, cpu, o);
      co_await kern::sys_mprotect(k, cpu, o.a, o.b, o.prot_none);
      break;
    case op_kind::madvise_dontneed:
      current_process(rt, cpu, o);
      co_await kern::sys_madvise_dontneed(k, cpu, o.a, o.b);
      break;
    case op_kind::fork:
      current_process(rt, cpu, o);
      co_await kern::sys_fork(k, cpu, *rt.processes[static_cast<std::size_t>(o.process)]->mm);
      break;
    case op_kind::gup_fast: {
      current_process(rt, cpu, o);
      std::vector<mm::pfn_t> pages;
      co_await kern::gup_fast(k, cpu, o.a, o.pages, o.write, pages);
      kern::unpin_user_pages(k, pages);
      break;
    }
    case op_kind::collapse:
      co_await kern::collapse_huge_page(
          k, cpu, *rt.processes[static_cast<std::size_t>(o.process)]->mm, o.a);
      break;
    case op_kind::uffd_move:
      current_process(rt, cpu, o);
      co_await kern::uffdio_move(k, cpu, o.a, o.b, o.c);
      break;
    case op_kind::signal:
      rt.labels[static_cast<std::size_t>(o.label)]->set(k);
      break;
    case op_kind::wait:
      co_await rt.labels[static_cast<std::size_t>(o.label)]->wait(k);
      break;
  }
}

}  // namespace

void spawn_program(kernel& k, const program& p, workload::thread_group& threads, runtime& rt) {
  if (k.ncpus() < p.min_cpus())
    throw std::invalid_argument(p.name + " needs " + std::to_string(p.min_cpus()) +
                                " CPUs, the machine has " + std::to_string(k.ncpus()));
  for (const auto& name : p.processes) {
    auto proc = std::make_shared<workload::process>();
    proc->mm = &k.new_mm(name);
    rt.processes.push_back(std::move(proc));
  }
  for (std::size_t i = 0; i < p.files.size(); ++i) rt.files.push_back(&k.new_file());
  for (std::size_t i = 0; i < p.labels.size(); ++i)
    rt.labels.push_back(std::make_unique<workload::event>());
  rt.current.assign(k.ncpus(), -1);
  rt.running.assign(k.ncpus(), nullptr);
  rt.ended_at.assign(k.ncpus(), 0);
  // A process's users are the CPUs that enter it: the last of them to exit tears it down.
  auto program_of = [&](unsigned cpu) { return cpu < p.cpus.size() ? &p.cpus[cpu] : &p.extra; };
  for (unsigned cpu = 0; cpu < k.ncpus(); ++cpu)
    for (const auto& o : program_of(cpu)->ops)
      if (o.kind == op_kind::enter) ++rt.processes[static_cast<std::size_t>(o.process)]->users;
  for (unsigned cpu = 0; cpu < k.ncpus(); ++cpu) {
    const cpu_program* prog = program_of(cpu);
    if (prog->ops.empty()) continue;
    k.cpus[cpu].nohz_full = prog->nohz_full;
    threads.spawn(cpu, [prog, &rt](kernel& kk, unsigned c) -> sim::task<> {
      for (const op& o : prog->ops) {
        rt.running[c] = &o;
        co_await run_op(kk, c, o, rt);
      }
      rt.running[c] = nullptr;
      rt.ended_at[c] = kk.eng.clock(c);
    });
  }
}

}  // namespace sd::program
