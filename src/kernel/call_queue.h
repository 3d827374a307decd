// kernel/smp.c's per-CPU call_single_queue and the calls in flight it refers to. Kept out
// of hw::cpu: a flush to every CPU queues a call on each, and the 4,096 queues side by side
// stay in the cache where 4,096 hw::cpu structs do not (issue 12).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "sim/time.h"

namespace sd::kern {

struct call_single_data;  // kernel/smp.h

// A cross-CPU call in flight, by its index in the kernel's table of such calls
// (csd_table below): a queue entry takes four bytes where a pointer takes eight, and
// when every CPU flushes at once each queue holds a call from every other CPU (issue 12).
using csd_id = std::uint32_t;

// kernel/smp.c call_single_queue. A sender llist_add()s its call and sends an IPI only
// when the list was empty; the handler (__flush_smp_call_function_queue) takes the whole
// list at once (llist_del_all) and runs it oldest first (llist_reverse_order). A call
// queued while the handler runs the taken ones therefore finds the list empty and sends
// an IPI of its own, taken when the handler returns and IRQs are enabled again. Two
// vectors, not a std::deque, which allocates when constructed: 4096 times in a 4096-CPU
// setup (issue 12); after warm-up neither allocates.
class csd_fifo {
 public:
  bool empty() const { return queued_.empty(); }
  void push_back(csd_id csd) { queued_.push_back(csd); }
  // llist_del_all + llist_reverse_order: the queued calls, oldest first, valid until the
  // next del_all (one handler per CPU at a time: it runs with IRQs off).
  std::span<const csd_id> del_all() {
    taken_.clear();
    taken_.swap(queued_);
    return taken_;
  }

 private:
  std::vector<csd_id> queued_;
  std::vector<csd_id> taken_;
};

// The calls in flight (each a call_single_data in its sender's frame), by the id the queues
// hold: registered when the sender queues it, released when every target ran it. A
// released id is reused, last in first out.
class csd_table {
 public:
  csd_id add(call_single_data* csd) {
    if (free_.empty()) {
      calls_.push_back(csd);
      return static_cast<csd_id>(calls_.size() - 1);
    }
    const csd_id id = free_.back();
    free_.pop_back();
    calls_[id] = csd;
    return id;
  }
  void release(csd_id id) {
    calls_[id] = nullptr;
    free_.push_back(id);
  }
  call_single_data* operator[](csd_id id) const { return calls_[id]; }

 private:
  std::vector<call_single_data*> calls_;
  std::vector<csd_id> free_;
};

// A KVM guest's PV send-IPI (arch/x86/kernel/kvm.c kvm_send_ipi_mask, KVM_HC_SEND_IPI): the
// host posts each target's interrupt while it handles the sender's hypercall, ipi_post_lead
// before the hypercall returns. A target running in the guest takes it ipi_delivery after
// the sender's hypercall returns (the notification and its exit); a target that is in its
// own send-IPI hypercall then (two CPUs flushing at once) finds it pending when it re-enters
// the guest, and takes it there, before its own local call. Per CPU, on x86-kvm only.
struct pv_send_ipi_cpu {
  sim::sim_time hypercall_end = 0;       // when this CPU's latest send-IPI hypercall returns
  sim::sim_time posted_at = sim::never;  // the earliest interrupt posted to it, not yet taken
};

}  // namespace sd::kern
