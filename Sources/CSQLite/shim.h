#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

// The kernel id of the calling thread, for the writer lock's per-thread timer (SIGEV_THREAD_ID)
// beside the database; Swift's Glibc module does not export gettid(2).
static inline pid_t csqlite_gettid(void) { return (pid_t)syscall(SYS_gettid); }
#endif
