#include "kernel/trace.h"

#include <nlohmann/json.hpp>

#include "kernel/kernel.h"

namespace sd::kern {

void trace_recorder::slice(unsigned cpu, std::string name, sim::sim_time begin, sim::sim_time end,
                           std::map<std::string, std::string> args) {
  events_.push_back({'X', cpu, std::move(name), begin, end - begin, 0, std::move(args)});
}

void trace_recorder::instant(unsigned cpu, std::string name, sim::sim_time at,
                             std::map<std::string, std::string> args) {
  events_.push_back({'i', cpu, std::move(name), at, 0, 0, std::move(args)});
}

void trace_recorder::ipi_sent(unsigned from, unsigned to, sim::sim_time at) {
  const std::uint64_t id = next_flow_++;
  events_.push_back({'s', from, "ipi", at, 0, id, {}});
  pending_flows_[to].push_back(id);
}

void trace_recorder::ipi_handled(unsigned cpu, sim::sim_time at) {
  for (std::uint64_t id : pending_flows_[cpu]) events_.push_back({'f', cpu, "ipi", at, 0, id, {}});
  pending_flows_[cpu].clear();
}

void trace_recorder::irqs_off(unsigned cpu, sim::sim_time at) {
  irqs_off_since_[cpu] = at;
}

void trace_recorder::irqs_on(unsigned cpu, sim::sim_time at) {
  if (irqs_off_since_[cpu] < 0) return;
  slice(cpus_ + 1 + cpu, "irqs_off", irqs_off_since_[cpu], at);
  irqs_off_since_[cpu] = -1;
}

void trace_recorder::write(std::ostream& out, const std::string& title) const {
  using json = nlohmann::ordered_json;
  json evs = json::array();
  // Metadata: the process and the named tracks, each CPU's IRQs-off track right below it.
  evs.push_back(
      {{"ph", "M"}, {"pid", 0}, {"tid", 0}, {"name", "process_name"}, {"args", {{"name", title}}}});
  const auto track = [&evs](unsigned tid, const std::string& name, unsigned order) {
    evs.push_back({{"ph", "M"},
                   {"pid", 0},
                   {"tid", tid},
                   {"name", "thread_name"},
                   {"args", {{"name", name}}}});
    evs.push_back({{"ph", "M"},
                   {"pid", 0},
                   {"tid", tid},
                   {"name", "thread_sort_index"},
                   {"args", {{"sort_index", order}}}});
  };
  for (unsigned a = 0; a <= cpus_; ++a) {  // the CPUs, then the rcu_gp kthread
    const std::string name = a < cpus_ ? "CPU " + std::to_string(a) : "rcu_gp kthread";
    track(a, name, 2 * a);
    track(cpus_ + 1 + a, name + " irqs_off", 2 * a + 1);
  }
  for (const auto& e : events_) {
    json j{{"ph", std::string(1, e.ph)},
           {"pid", 0},
           {"tid", e.cpu},
           {"name", e.name},
           {"cat", e.ph == 's' || e.ph == 'f' ? "ipi" : "kernel"},
           {"ts", static_cast<double>(e.ts) / 1000.0}};  // microseconds
    if (e.ph == 'X') j["dur"] = static_cast<double>(e.dur) / 1000.0;
    if (e.ph == 'i') j["s"] = "t";
    if (e.ph == 's' || e.ph == 'f') j["id"] = e.id;
    if (e.ph == 'f') j["bp"] = "e";
    if (!e.args.empty()) j["args"] = e.args;
    evs.push_back(std::move(j));
  }
  json doc{{"traceEvents", std::move(evs)}, {"displayTimeUnit", "ns"}};
  out << doc.dump() << "\n";
}

trace_scope::trace_scope(kernel& k, unsigned cpu, const char* name)
    : k_(k), cpu_(cpu), name_(name), begin_(k.trace ? k.eng.step_end() : 0) {
  if (k.track_scopes) k.scopes[cpu].push_back(name);
}

trace_scope::~trace_scope() {
  if (k_.trace) k_.trace->slice(cpu_, name_, begin_, k_.eng.step_end());
  if (k_.track_scopes) k_.scopes[cpu_].pop_back();
}

}  // namespace sd::kern
