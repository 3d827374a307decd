#include "host/tracepoints.h"

#include <linux/magic.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

#include <fmt/format.h>

#include "host/kallsyms.h"
#include "host/text_file.h"

namespace sd::host {

namespace {

const char* const k_tracefs[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

// This process and every thread and child it starts later (pid 0, any CPU, inherit), so
// other processes' flushes on a busy machine do not count (issue 9 item 12).
long perf_event_open_self(perf_event_attr* attr) {
  attr->inherit = 1;
  return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
}

bool read_event(const std::string& root, const std::string& event, std::string& id_text,
                std::string& format) {
  const std::string dir = root + "/events/" + event + "/";
  return read_text_file(dir + "id", id_text) && read_text_file(dir + "format", format);
}

// tracefs is mounted at `root` but this user may not look inside (it is root's, 0700): the
// cause to name, rather than "mount tracefs".
bool mounted_but_denied(const std::string& root, const std::string& event) {
  struct statfs fs {};
  if (statfs(root.c_str(), &fs) != 0 || fs.f_type != TRACEFS_MAGIC) return false;
  return access((root + "/events/" + event + "/id").c_str(), R_OK) != 0 && errno == EACCES;
}

// tracefs is not mounted (a fresh machine): as root, mount a private instance just long
// enough to read the event's id and format, as trace-cmd mounts it when it is missing. The
// perf events opened by id do not need the mount, so nothing stays mounted, even if the run
// is killed later. Returns false with `why` set when that is not possible.
bool read_from_private_tracefs(const std::string& event, std::string& id_text, std::string& format,
                               std::string& why) {
  if (geteuid() != 0) {
    why =
        "tracefs is not mounted and this is not root: mount it (as root: mount -t tracefs nodev "
        "/sys/kernel/tracing) or run shootdown host as root";
    return false;
  }
  char dir[] = "/tmp/shootdown-tracefs-XXXXXX";
  if (!mkdtemp(dir)) {
    why = std::string("cannot create a directory to mount tracefs on: ") + std::strerror(errno);
    return false;
  }
  if (mount("nodev", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    why = std::string("tracefs is not mounted and mounting it failed: ") + std::strerror(errno);
    rmdir(dir);
    return false;
  }
  const bool ok = read_event(dir, event, id_text, format);
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  if (!ok)
    why = "tracepoint " + event +
          " not found in tracefs: a kernel without CONFIG_TRACEPOINTS, or older than the "
          "tracepoint?";
  return ok;
}

}  // namespace

bool find_tracepoint(const std::string& event, std::string& id_text, std::string& format,
                     std::string& why) {
  for (const char* root : k_tracefs) {
    if (read_event(root, event, id_text, format)) return true;
    if (mounted_but_denied(root, event)) {
      why = std::string("tracefs is mounted at ") + root +
            " but this user may not read it (permission denied): run shootdown host as root";
      return false;
    }
  }
  return read_from_private_tracefs(event, id_text, format, why);
}

std::string reason_key(const std::string& name) {
  static const std::map<std::string, std::string> k{
      {"flush on task switch", "task_switch"}, {"remote shootdown", "remote_shootdown"},
      {"local shootdown", "local_shootdown"},  {"local MM shootdown", "local_mm_shootdown"},
      {"remote IPI send", "remote_send_ipi"},  {"remote wrong CPU", "remote_wrong_cpu"}};
  if (auto it = k.find(name); it != k.end()) return it->second;
  std::string s;
  for (char c : name)
    s += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
  return s;
}

bool tracepoint_counters::add(const std::string& id, const std::string& event,
                              const std::string& filter, const std::string& key, std::string& why,
                              int cpu) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = std::stoull(id);
  // cpu -1: this process (inherit); else every task on that CPU.
  const long fd =
      cpu < 0 ? perf_event_open_self(&attr) : syscall(SYS_perf_event_open, &attr, -1, cpu, -1, 0);
  if (fd < 0) {
    why = "perf_event_open(" + event + ") failed: " + std::strerror(errno) +
          " (needs root or CAP_PERFMON, or kernel.perf_event_paranoid <= 0)";
    return false;
  }
  if (!filter.empty() &&
      ioctl(static_cast<int>(fd), PERF_EVENT_IOC_SET_FILTER, filter.c_str()) != 0) {
    close(static_cast<int>(fd));
    why = "cannot filter " + event + " (" + filter + "): " + std::strerror(errno);
    return false;
  }
  counters_.push_back({static_cast<int>(fd), key});
  return true;
}

std::unique_ptr<tracepoint_counters> tracepoint_counters::open_tlb_flush(std::string& why) {
  std::string id_text, format;
  if (!find_tracepoint("tlb/tlb_flush", id_text, format, why)) return nullptr;
  // __print_symbolic(REC->reason, { 0, "flush on task switch" }, ...)
  std::map<int, std::string> reasons;
  const std::regex pair(R"(\{\s*(\d+),\s*\"([^\"]+)\"\s*\})");
  for (auto it = std::sregex_iterator(format.begin(), format.end(), pair);
       it != std::sregex_iterator(); ++it)
    reasons[std::stoi((*it)[1])] = reason_key((*it)[2]);
  if (reasons.empty()) {
    why = "cannot read the reason names from the tlb:tlb_flush format file";
    return nullptr;
  }
  std::unique_ptr<tracepoint_counters> c(new tracepoint_counters());
  for (const auto& [value, key] : reasons)
    if (!c->add(id_text, "tlb:tlb_flush", "reason == " + std::to_string(value), key, why))
      return nullptr;
  return c;
}

std::unique_ptr<tracepoint_counters> tracepoint_counters::open_csd_queue(
    const std::vector<std::string>& callbacks, const std::string& kallsyms, std::string& why,
    bool every_process) {
  const long ncpus = every_process ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
  std::string id_text, format;
  if (!find_tracepoint("csd/csd_queue_cpu", id_text, format, why)) return nullptr;
  std::unique_ptr<tracepoint_counters> c(new tracepoint_counters());
  for (const auto& name : callbacks) {
    const auto addr = symbol_address(kallsyms, name);
    if (!addr) continue;  // not in this kernel (e.g. no x86 flush_tlb_func on arm64)
    if (*addr == 0) {
      why =
          "/proc/kallsyms hides addresses from this user (kernel.kptr_restrict): run "
          "shootdown host as root";
      return nullptr;
    }
    for (long cpu = 0; cpu < ncpus; ++cpu)
      if (!c->add(id_text, "csd:csd_queue_cpu", fmt::format("func == {:#x}", *addr), name, why,
                  every_process ? static_cast<int>(cpu) : -1))
        return nullptr;
  }
  if (c->counters_.empty()) {
    why = "/proc/kallsyms names none of the callbacks counted";
    return nullptr;
  }
  return c;
}

std::unique_ptr<tracepoint_counters> tracepoint_counters::open_task_events(
    std::string& why_faults, std::string& why_switches) {
  std::unique_ptr<tracepoint_counters> c(new tracepoint_counters());
  for (const char* mode : {"user", "kernel"}) {
    const std::string event = std::string("exceptions/page_fault_") + mode;
    std::string id_text, format;
    if (!find_tracepoint(event, id_text, format, why_faults) ||
        !c->add(id_text, "exceptions:page_fault_" + std::string(mode),
                "(error_code & 1) && (error_code & 2)", "write_protect", why_faults)) {
      // Both modes or neither: a count of user faults alone would read as all of them.
      for (const auto& k : c->counters_) close(k.fd);
      c->counters_.clear();
      break;
    }
  }
  std::string id_text, format;
  if (find_tracepoint("sched/sched_switch", id_text, format, why_switches))
    c->add(id_text, "sched:sched_switch", "", "switch_out", why_switches);
  if (c->counters_.empty()) return nullptr;
  return c;
}

bool tracepoint_counters::counts(const std::string& key) const {
  for (const auto& c : counters_)
    if (c.key == key) return true;
  return false;
}

tracepoint_counters::~tracepoint_counters() {
  for (const auto& c : counters_) close(c.fd);
}

void tracepoint_counters::read_raw(std::vector<std::uint64_t>& out) const {
  out.resize(counters_.size());
  for (std::size_t i = 0; i < counters_.size(); ++i)
    if (::read(counters_[i].fd, &out[i], sizeof(out[i])) != sizeof(out[i])) out[i] = 0;
}

std::map<std::string, std::uint64_t> tracepoint_counters::by_key(
    const std::vector<std::uint64_t>& raw) const {
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i < counters_.size() && i < raw.size(); ++i)
    out[counters_[i].key] += raw[i];
  return out;
}

}  // namespace sd::host
