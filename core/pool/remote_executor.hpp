// Runs the pool's jobs on remote hosts over SSH (pool-run --ssh): the scheduler, output handling,
// joblog and exit codes stay the same; only where a job runs changes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/pool/executor.hpp"
#include "core/ssh/remote_command.hpp"
#include "core/ssh/session.hpp"

namespace netlab::pool {

struct SshPoolConfig {
  std::vector<ssh::Target> targets; // resolved, in the order given
  ssh::ConnectConfig connect;       // credentials already loaded
  unsigned per_host = 1;            // sessions (jobs at once) per host
  bool shell = false;               // jobs are `sh -c SCRIPT`: send the script itself
};

// libssh blocks, so each session has a thread of its own; jobs wait in one queue that every
// session takes from, and output comes back to the loop through an async handle. A host's first
// session connects before the others try, so a host that is down costs one attempt and a single
// report, and its share of the jobs goes to the hosts that answered. When no host is left, the
// remaining jobs fail with status 255, as ssh reports a connection failure.
std::unique_ptr<Executor> make_ssh_executor(loop::Loop& loop, SshPoolConfig options);

// ssh-exec's many-host mode: job N is host N-1, run by `run_host` on a thread of its own (libssh
// blocks), which connects, transfers and runs the command there. `stop` is the job's signal from
// the scheduler (--timeout, Ctrl-C, SIGTERM, SIGHUP), for ExecRequest::signal; output goes to
// `sink` as it arrives and reaches the scheduler through the loop. The scheduler's -j bounds
// how many hosts are worked on at once.
using HostJob = std::function<JobOutcome(std::size_t host, const std::atomic<int>& stop, const ssh::OutputSink& sink)>;
std::unique_ptr<Executor> make_ssh_host_executor(loop::Loop& loop, HostJob run_host);

} // namespace netlab::pool
