#include "sim/huge_heap.h"

#ifdef SHOOTDOWN_TCMALLOC
#include <gperftools/malloc_extension.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#endif

namespace sd::sim {

#ifdef SHOOTDOWN_TCMALLOC
namespace {

constexpr std::size_t k_huge_page = std::size_t{2} << 20;

// tcmalloc asks its system allocator for more heap (at least 1 MiB at a time) and uses all
// of what it gets back (gperftools' SysAllocator interface, malloc_extension.h). Sizes are
// rounded up to whole huge pages; when a mapping fails, the default allocator answers.
class huge_page_allocator final : public SysAllocator {
 public:
  explicit huge_page_allocator(SysAllocator* fallback) : fallback_(fallback) {}
  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    const std::size_t align = std::max(alignment, k_huge_page);
    const std::size_t len = (size + k_huge_page - 1) / k_huge_page * k_huge_page;
    void* raw =
        mmap(nullptr, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return fallback_->Alloc(size, actual_size, alignment);
    // Keep the aligned part and give the rest back.
    const auto base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t start = (base + align - 1) / align * align;
    if (start > base) munmap(raw, start - base);
    if (const std::uintptr_t tail = base + len + align - (start + len))
      munmap(reinterpret_cast<void*>(start + len), tail);
    // A hint: if it fails (THP not built in), the memory is ordinary and still usable.
    (void)madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);
    if (actual_size) *actual_size = len;
    return reinterpret_cast<void*>(start);
  }

 private:
  SysAllocator* fallback_;
};

}  // namespace

bool back_heap_with_huge_pages() {
  MallocExtension* m = MallocExtension::instance();
  // Never destroyed: the heap may still grow while static objects are torn down at exit.
  static auto* const allocator = new huge_page_allocator(m->GetSystemAllocator());
  m->SetSystemAllocator(allocator);
  return true;
}
#else
bool back_heap_with_huge_pages() {
  return false;
}
#endif

}  // namespace sd::sim
