#include "host/tlb_tracepoint.h"

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

bool read_tlb_flush_event(const std::string& root, std::string& id_text, std::string& format) {
  const std::string dir = root + "/events/tlb/tlb_flush/";
  return read_text_file(dir + "id", id_text) && read_text_file(dir + "format", format);
}

// tracefs is mounted at `root` but this user may not look inside (it is root's, 0700): the
// cause to name, rather than "mount tracefs".
bool mounted_but_denied(const std::string& root) {
  struct statfs fs {};
  if (statfs(root.c_str(), &fs) != 0 || fs.f_type != TRACEFS_MAGIC) return false;
  return access((root + "/events/tlb/tlb_flush/id").c_str(), R_OK) != 0 && errno == EACCES;
}

// tracefs is not mounted (a fresh machine): as root, mount a private instance just long
// enough to read the event's id and format, as trace-cmd mounts it when it is missing. The
// perf events opened by id do not need the mount, so nothing stays mounted, even if the run
// is killed later. Returns false with `why` set when that is not possible.
bool read_from_private_tracefs(std::string& id_text, std::string& format, std::string& why) {
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
  const bool ok = read_tlb_flush_event(dir, id_text, format);
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  if (!ok)
    why = "tracepoint tlb:tlb_flush not found in tracefs: a kernel without CONFIG_TRACEPOINTS?";
  return ok;
}

}  // namespace

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

std::unique_ptr<tlb_flush_counters> tlb_flush_counters::open(std::string& why) {
  std::string id_text, format;
  bool found = false;
  for (const char* root : k_tracefs) {
    if ((found = read_tlb_flush_event(root, id_text, format))) break;
    if (mounted_but_denied(root)) {
      why = std::string("tracefs is mounted at ") + root +
            " but this user may not read it (permission denied): run shootdown host as root";
      return nullptr;
    }
  }
  if (!found && !read_from_private_tracefs(id_text, format, why)) return nullptr;
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
  std::unique_ptr<tlb_flush_counters> c(new tlb_flush_counters());
  for (const auto& [value, key] : reasons) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.config = std::stoull(id_text);
    const long fd = perf_event_open_self(&attr);
    if (fd < 0) {
      why = std::string("perf_event_open(tlb:tlb_flush) failed: ") + std::strerror(errno) +
            " (needs root or CAP_PERFMON, or kernel.perf_event_paranoid <= 0)";
      return nullptr;
    }
    const std::string filter = "reason == " + std::to_string(value);
    if (ioctl(static_cast<int>(fd), PERF_EVENT_IOC_SET_FILTER, filter.c_str()) != 0) {
      close(static_cast<int>(fd));
      why = "cannot filter tlb:tlb_flush by reason: " + std::string(std::strerror(errno));
      return nullptr;
    }
    c->counters_.push_back({static_cast<int>(fd), key});
  }
  return c;
}

tlb_flush_counters::~tlb_flush_counters() {
  for (const auto& c : counters_) close(c.fd);
}

void tlb_flush_counters::read_raw(std::vector<std::uint64_t>& out) const {
  out.resize(counters_.size());
  for (std::size_t i = 0; i < counters_.size(); ++i)
    if (::read(counters_[i].fd, &out[i], sizeof(out[i])) != sizeof(out[i])) out[i] = 0;
}

std::map<std::string, std::uint64_t> tlb_flush_counters::by_reason(
    const std::vector<std::uint64_t>& raw) const {
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i < counters_.size() && i < raw.size(); ++i)
    out[counters_[i].reason] += raw[i];
  return out;
}

}  // namespace sd::host
