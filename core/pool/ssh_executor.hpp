// Runs the pool's jobs on remote hosts over SSH (pool-run --ssh): the scheduler, output handling,
// joblog and exit codes stay the same; only where a job runs changes.
#pragma once

#include <memory>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/pool/executor.hpp"
#include "core/ssh/session.hpp"

namespace netlab::pool {

struct SshPoolOptions {
  std::vector<ssh::Target> targets; // resolved, in the order given
  ssh::ConnectOptions connect;      // credentials already loaded
  unsigned per_host = 1;            // sessions (jobs at once) per host
  bool shell = false;               // jobs are `sh -c SCRIPT`: send the script itself
};

// libssh blocks, so each session has a thread of its own; jobs wait in one queue that every
// session takes from, and output comes back to the loop through an async handle. A host's first
// session connects before the others try, so a host that is down costs one attempt and a single
// report, and its share of the jobs goes to the hosts that answered. When no host is left, the
// remaining jobs fail with status 255, as ssh reports a connection failure.
std::unique_ptr<Executor> make_ssh_executor(loop::Loop& loop, SshPoolOptions options);

} // namespace netlab::pool
