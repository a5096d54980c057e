// What kills pool-run's jobs when pool-run itself is killed with SIGKILL, which it cannot catch.
//
// Why a process and not PR_SET_PDEATHSIG: a parent-death signal must be set by code running in
// the child between fork and exec, which libuv's uv_spawn (and posix_spawn) cannot run, and it
// would reach only the job's first process anyway. Instead pool-run forks one small watchdog at
// start. It holds the read end of a pipe whose only write end pool-run keeps and never writes to,
// and shares with pool-run a table of the running jobs' process groups (an anonymous MAP_SHARED
// mapping made before the fork), which pool-run fills and empties without a system call. When
// pool-run dies the kernel closes the write end, the watchdog reads end of file, and it SIGKILLs
// every process group still in the table, then every process whose environment carries pool-run's
// process-tree marker (NETLAB_TREE=<pool-run's pid>.…, core/loop/reaper.hpp), which also finds
// descendants that left their job's process group (setsid, a double fork). A normal end sets the
// table's quit flag before closing the pipe, and the watchdog just exits.
//
// The watchdog ignores every signal a terminal or a `kill` of pool-run's process group sends
// (it runs in a session of its own), holds no other descriptor of pool-run's (so `pool-run |
// head` still sees its reader go), allocates nothing after fork, and exits at the pipe's end.
// Not covered: a descendant that dropped NETLAB_TREE from its environment and left its job's
// process group (setsid + env -i) before pool-run died; the watchdog killed by SIGKILL too.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

namespace netlab::pool {

class Watchdog {
public:
  // Forks the watchdog. Call before any job starts.
  static Result<std::unique_ptr<Watchdog>> start();
  // Tells the watchdog all is well and waits for it to exit.
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // A job's process group started (`pgid` > 0) / is done. Loop thread only; no system call.
  // Past k_max_groups groups at once (pool-run runs at most 1024 jobs) the extra ones are not
  // listed; the marker sweep still finds their processes.
  void watch(pid_t pgid);
  void forget(pid_t pgid);

  pid_t pid() const { return m_pid; }

  struct Table;
  static constexpr std::size_t k_max_groups = 4096;

  // `table` is the shared mapping, `fd` the pipe's write end; both owned from then on.
  Watchdog(Table* table, Fd fd, pid_t pid);

private:
  Table* m_table;
  Fd m_fd;
  pid_t m_pid;
  // pgid -> its slot in the table, and the slots free; pool-run's side only.
  std::unordered_map<pid_t, std::size_t> m_slots;
  std::vector<std::size_t> m_free;
};

} // namespace netlab::pool
