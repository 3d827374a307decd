// UFFDIO_MOVE (Linux 6.8) for host mode. This machine's uapi headers may predate it, so the
// ABI is spelled out here from include/uapi/linux/userfaultfd.h.
#pragma once
#include <cstddef>
#include <string>

namespace sd::host {

// A userfaultfd with UFFD_FEATURE_MOVE, or an explanation of why there is none.
class uffd_mover {
 public:
  static bool open(uffd_mover& out, std::string& why);
  ~uffd_mover();
  uffd_mover() = default;
  uffd_mover(const uffd_mover&) = delete;
  uffd_mover& operator=(const uffd_mover&) = delete;

  // Registers [dst, dst+len) (MODE_MISSING) so that it can receive moved pages.
  bool register_range(void* dst, std::size_t len);
  // UFFDIO_MOVE of len bytes; returns bytes moved, or -errno.
  long move(void* dst, const void* src, std::size_t len);

 private:
  int fd_ = -1;
};

}  // namespace sd::host
