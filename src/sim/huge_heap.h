// Back the allocator's heap with transparent huge pages (issue 12). A run at 1024-4096 CPUs
// reads a different simulated CPU's state (TLB table, coroutine frames, actor) on every
// step, scattered over 30-300 MiB: with 4 KiB pages those reads likely miss the host's TLB
// as well (a two-level walk in a virtual machine; perf has no TLB events in the guest it was
// measured on, so that cause is inferred from the time saved, docs/performance.md).
#pragma once

namespace sd::sim {

// Call once, first thing in main(). With tcmalloc linked, its heap grows from now on in
// 2 MiB-aligned mappings advised MADV_HUGEPAGE (THP "madvise" or "always" then backs them
// with huge pages; with "never" they are ordinary memory). Otherwise it does nothing.
// Changes no output: where objects live is never part of a result. Returns whether the
// allocator was installed (false without tcmalloc: sanitizer and fuzzing builds).
bool back_heap_with_huge_pages();

}  // namespace sd::sim
