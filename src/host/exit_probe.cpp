#include "host/exit_probe.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "host/tracepoints.h"

namespace sd::host {

namespace {

// An fd that is closed when it goes out of scope.
struct owned_fd {
  int fd = -1;
  owned_fd() = default;
  explicit owned_fd(int f) : fd(f) {}
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd() {
    if (fd >= 0) close(fd);
  }
  std::uint64_t value() const {
    std::uint64_t v = 0;
    return ::read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
  }
};

int open_tracepoint(std::uint64_t id, pid_t pid, int cpu, bool inherit) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = id;
  attr.inherit = inherit ? 1 : 0;
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0));
}

}  // namespace

std::optional<exit_probe_result> probe_child_exit_counting(std::string& why) {
  std::string id_text, format;
  if (!find_tracepoint("tlb/tlb_flush", id_text, format, why)) return std::nullopt;
  const std::uint64_t id = std::stoull(id_text);
  const owned_fd inherited(open_tracepoint(id, 0, -1, true));
  if (inherited.fd < 0) {
    why = std::string("perf_event_open failed: ") + std::strerror(errno);
    return std::nullopt;
  }
  int gate[2];
  if (pipe(gate) != 0) {
    why = "pipe failed";
    return std::nullopt;
  }
  const pid_t child = fork();
  if (child < 0) {
    why = "fork failed";
    return std::nullopt;
  }
  if (child == 0) {
    close(gate[1]);
    char c;
    (void)!read(gate[0], &c, 1);  // until the parent's counters are open
    constexpr std::size_t len = 4 << 20;
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED)
      for (std::size_t off = 0; off < len; off += 4096) static_cast<volatile char*>(m)[off] = 1;
    _exit(0);  // exit_mmap unmaps it: the flushes counted
  }
  close(gate[0]);
  // The child's events on every CPU, whoever counts them: a filter on its pid.
  std::vector<owned_fd> per_cpu(static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  const std::string filter = "common_pid == " + std::to_string(child);
  bool ok = true;
  for (std::size_t cpu = 0; cpu < per_cpu.size() && ok; ++cpu) {
    per_cpu[cpu].fd = open_tracepoint(id, -1, static_cast<int>(cpu), false);
    ok = per_cpu[cpu].fd >= 0 &&
         ioctl(per_cpu[cpu].fd, PERF_EVENT_IOC_SET_FILTER, filter.c_str()) == 0;
  }
  if (!ok) why = std::string("system-wide perf counter failed: ") + std::strerror(errno);
  const std::uint64_t before = inherited.value();
  close(gate[1]);  // the child runs and exits
  waitpid(child, nullptr, 0);
  if (!ok) return std::nullopt;
  exit_probe_result r;
  r.per_process = inherited.value() - before;
  for (const auto& f : per_cpu) r.system_wide += f.value();
  if (r.system_wide == 0) {
    why = "the probe child's exit traced no flush here";
    return std::nullopt;
  }
  return r;
}

}  // namespace sd::host
