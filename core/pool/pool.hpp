// The scheduler: runs jobs from an input source through an executor with at most N at once,
// groups each job's output, orders it, logs it, and applies --timeout, --retries and --halt.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/pool/capture.hpp"
#include "core/pool/executor.hpp"
#include "core/pool/halt.hpp"
#include "core/pool/joblog.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::pool {

struct PoolConfig {
  std::vector<std::string> command;
  bool shell = false;
  // Inputs: the ::: / :::: groups, or records from `input_fd` when there are none.
  std::vector<std::vector<std::string>> groups;
  std::vector<bool> linked; // per group: paired with the one before it (`:::+`); empty: none
  int input_fd = 0;
  char separator = '\n';

  unsigned jobs = 1;
  bool keep_order = false;
  bool tag = false;
  bool json = false;
  bool progress = false;
  Seconds timeout{0};                         // 0: none
  std::chrono::milliseconds kill_grace{1000}; // TERM, then KILL this much later
  unsigned retries = 0;
  HaltPolicy halt;
  std::string joblog;
  MemoryBudget memory;
  int stdout_fd = 1;
  int stderr_fd = 2;

  // Makes the executor; the local one unless set (--dry-run, --ssh).
  std::function<std::unique_ptr<Executor>(loop::Loop&)> executor;

  // For runs over SSH hosts (ssh-exec): what --tag puts between the inputs and the line; the
  // joblog's and --json's command instead of the expanded template; a line written before each
  // job's grouped output (and before its stderr, when there is any), "" for none; and a callback
  // for every job that ended for good, for a summary; `on_interrupt` hears the signal that
  // stopped the pool, before the jobs are told.
  std::string tag_separator = "\t";
  std::string fixed_command;
  std::function<std::string(const JobRecord&, const JobOutcome&)> group_header;
  std::function<void(const JobRecord&, const JobOutcome&)> on_finished;
  std::function<void(int)> on_interrupt;
};

struct PoolResult {
  std::uint64_t started = 0; // jobs (not attempts) started
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0; // failed for good, after retries; killed by the pool not counted
  std::uint64_t killed = 0; // stopped by --halt now or an interrupt
  bool halted = false;
  bool interrupted = false;
  int interrupt_signal = 0;      // the first of SIGINT, SIGTERM, SIGHUP, SIGQUIT that stopped it
  bool output_closed = false;    // stdout's reader went away (EPIPE)
  std::uint64_t unreachable = 0; // failed because no host could be reached (JobOutcome::unreachable)

  // GNU parallel's convention: 0, else the number of failed jobs up to 100, 101 for more; 255
  // when every job that ended failed because its host could not be reached.
  int exit_code() const;
  // pool-run's end: exit_code(), or a failure with 128+N ("interrupted by SIGINT") when signal N
  // stopped the pool, or with 1 when stdout's reader went away.
  Result<int> status() const;
};

// The most failed jobs exit_code() counts one by one; more is this plus one.
constexpr int k_max_failed_status = 100;

// Runs the pool on a loop of its own until every job is done. SIGINT, SIGTERM, SIGHUP and SIGQUIT
// stop it: every running job's whole process tree (core/loop/reaper.hpp: also descendants that
// left the job's process group) gets TERM, then KILL; their joblog lines and captured output are
// written as they end, and the result says interrupted and by which signal. Local jobs are also
// covered when pool-run is SIGKILLed, by a watchdog process (watchdog.hpp).
Result<PoolResult> run_pool(const PoolConfig& config);

// The same scheduler on the caller's loop, for tests that drive the loop themselves and finish a
// fake executor's jobs by hand. `config` and `loop` must outlive it. start() starts the first jobs
// (its failure: the input or the joblog could not be opened); the run is over when finished(),
// after which the loop holds none of its handles open. interrupt() does what the signal would.
class PoolRun {
public:
  PoolRun(const PoolConfig& config, loop::Loop& loop);
  ~PoolRun();
  PoolRun(const PoolRun&) = delete;
  PoolRun& operator=(const PoolRun&) = delete;

  Result<void> start();
  bool finished() const;
  void interrupt(int signum);
  const PoolResult& result() const;

private:
  class Scheduler;
  std::unique_ptr<Scheduler> m_scheduler;
};

} // namespace netlab::pool
