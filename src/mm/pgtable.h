// x86-64 style 4-level page tables (pgd -> pud -> pmd -> pte; p4d folded), 4 KiB pages.
// arm64 with 4 KiB granule and 48-bit VA has the same shape, so both arches share it.
#pragma once
#include <cstdint>

namespace sd::mm {

using va_t = std::uint64_t;
using pfn_t = std::uint32_t;  // frame number; 0 is "no frame"

inline constexpr unsigned PAGE_SHIFT = 12;
inline constexpr va_t PAGE_SIZE = va_t{1} << PAGE_SHIFT;
inline constexpr unsigned PTRS_PER_TABLE = 512;

// Level of a table: a level-L table holds entries that each map (1 << shift(L)) bytes.
enum class level : std::uint8_t { pte = 1, pmd = 2, pud = 3, pgd = 4 };

constexpr unsigned level_shift(level l) {
  return PAGE_SHIFT + 9 * (static_cast<unsigned>(l) - 1);
}
constexpr unsigned level_shift(unsigned l) {
  return PAGE_SHIFT + 9 * (l - 1);
}
inline constexpr unsigned PMD_SHIFT = level_shift(level::pmd);    // 2 MiB
inline constexpr unsigned PUD_SHIFT = level_shift(level::pud);    // 1 GiB
inline constexpr unsigned PGDIR_SHIFT = level_shift(level::pgd);  // 512 GiB
inline constexpr va_t PMD_SIZE = va_t{1} << PMD_SHIFT;
inline constexpr va_t PUD_SIZE = va_t{1} << PUD_SHIFT;
inline constexpr va_t PGDIR_SIZE = va_t{1} << PGDIR_SHIFT;
inline constexpr va_t PMD_MASK = ~(PMD_SIZE - 1);
inline constexpr va_t PUD_MASK = ~(PUD_SIZE - 1);
inline constexpr va_t PGDIR_MASK = ~(PGDIR_SIZE - 1);
inline constexpr va_t TASK_SIZE = va_t{1} << 47;
inline constexpr va_t TLB_FLUSH_ALL = ~va_t{0};

constexpr unsigned pt_index(va_t va, unsigned lvl) {
  return (va >> level_shift(lvl)) & 511;
}
// End of the level-`lvl` entry containing addr, clamped to end (the kernel's p?d_addr_end).
constexpr va_t entry_addr_end(va_t addr, va_t end, unsigned lvl) {
  va_t boundary = (addr + (va_t{1} << level_shift(lvl))) & ~((va_t{1} << level_shift(lvl)) - 1);
  return (boundary - 1 < end - 1) ? boundary : end;
}

enum pte_flag : std::uint8_t {
  _PAGE_PRESENT = 1,
  _PAGE_RW = 2,
  _PAGE_USER = 4,
  _PAGE_ACCESSED = 8,
  _PAGE_DIRTY = 16,
  _PAGE_PSE = 32,       // leaf at pmd/pud level (huge page)
  _PAGE_PROTNONE = 64,  // PROT_NONE: the hardware sees "not present", the kernel keeps the page
};

// One entry at any level: a pointer to a lower table, or (pte level / PSE) to a data page.
struct pt_entry {
  pfn_t pfn = 0;
  std::uint8_t flags = 0;
  bool none() const { return pfn == 0 && flags == 0; }
  bool present() const { return (flags & _PAGE_PRESENT) != 0; }
  bool writable() const { return (flags & _PAGE_RW) != 0; }
  bool huge() const { return (flags & _PAGE_PSE) != 0; }  // a leaf above the PTE level
  bool protnone() const { return (flags & _PAGE_PROTNONE) != 0; }
  bool operator==(const pt_entry&) const = default;
};

}  // namespace sd::mm
