// Instantaneous software lookup of the page tables, for monitors and tests only (it takes
// no time and is not a modeled kernel path).
#pragma once
#include "mm/memory.h"
#include "mm/mm_types.h"

namespace sd::mm {

// The entry at `lvl` that maps va, or null when a table above it is missing.
inline pt_entry* lookup_entry(memory& mem, const mm_struct& mm, va_t va, level lvl) {
  pfn_t table = mm.pgd;
  for (unsigned l = 4; l > static_cast<unsigned>(lvl); --l) {
    pt_entry& e = mem.table(table).e[pt_index(va, l)];
    if (!e.present() || e.huge()) return nullptr;
    table = e.pfn;
  }
  return &mem.table(table).e[pt_index(va, static_cast<unsigned>(lvl))];
}

inline pt_entry* lookup_pte(memory& mem, const mm_struct& mm, va_t va) {
  return lookup_entry(mem, mm, va, level::pte);
}

// The leaf entry that maps va, at whatever level (a PTE or a huge PMD), or null.
inline pt_entry* lookup_leaf(memory& mem, const mm_struct& mm, va_t va) {
  pfn_t table = mm.pgd;
  for (unsigned l = 4; l > 1; --l) {
    pt_entry& e = mem.table(table).e[pt_index(va, l)];
    if (e.huge()) return &e;
    if (!e.present()) return nullptr;
    table = e.pfn;
  }
  return &mem.table(table).e[pt_index(va, 1)];
}

}  // namespace sd::mm
