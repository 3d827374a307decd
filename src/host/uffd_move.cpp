#include "host/uffd_move.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace sd::host {

namespace {
constexpr std::uint64_t k_feature_move = std::uint64_t{1} << 16;  // UFFD_FEATURE_MOVE
struct uffdio_move_arg {
  std::uint64_t dst;
  std::uint64_t src;
  std::uint64_t len;
  std::uint64_t mode;
  std::int64_t move;
};
constexpr unsigned long k_uffdio_move = _IOWR(UFFDIO, 0x05, uffdio_move_arg);  // _UFFDIO_MOVE
}  // namespace

bool uffd_mover::open(uffd_mover& out, std::string& why) {
  const long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    why = std::string("userfaultfd() failed: ") + std::strerror(errno) +
          " (needs CONFIG_USERFAULTFD and root or vm.unprivileged_userfaultfd=1)";
    return false;
  }
  out.fd_ = static_cast<int>(fd);
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = k_feature_move;
  if (ioctl(out.fd_, UFFDIO_API, &api) != 0 || !(api.features & k_feature_move)) {
    why = "UFFDIO_MOVE is not supported by this kernel (UFFD_FEATURE_MOVE needs Linux 6.8+)";
    return false;
  }
  return true;
}

uffd_mover::~uffd_mover() {
  if (fd_ >= 0) close(fd_);
}

bool uffd_mover::register_range(void* dst, std::size_t len) {
  uffdio_register reg{};
  reg.range.start = reinterpret_cast<std::uintptr_t>(dst);
  reg.range.len = len;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  return ioctl(fd_, UFFDIO_REGISTER, &reg) == 0;
}

long uffd_mover::move(void* dst, const void* src, std::size_t len) {
  uffdio_move_arg m{};
  m.dst = reinterpret_cast<std::uintptr_t>(dst);
  m.src = reinterpret_cast<std::uintptr_t>(src);
  m.len = len;
  if (ioctl(fd_, k_uffdio_move, &m) != 0) return -errno;
  return static_cast<long>(m.move);
}

}  // namespace sd::host
