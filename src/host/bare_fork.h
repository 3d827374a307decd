#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

namespace sd::host {

// fork() without the C library's fork: a clone(SIGCHLD) system call, which is what fork()
// is to the kernel (kernel/fork.c, the same copy of the address space), minus the
// pthread_atfork handlers. Those handlers write dozens of the parent's and the child's pages
// right after the fork (tcmalloc's CentralCacheUnlockAll alone, one lock per size class;
// glibc's own locks, stdio's list, the unwinder's cache), and each write is a copy-on-write
// copy with a flush (do_wp_page, ptep_clear_flush) that a phase measuring fork would count
// as its own: traced with perf record -g on tlb:tlb_flush, 70% of the local flushes of the
// hugetlb-fork-exit phases came from them. The child must then only make system calls (no
// allocation, no stdio: their locks were not taken around the fork) and leave with _exit.
inline pid_t fork_without_handlers() {
  return static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
}

}  // namespace sd::host
