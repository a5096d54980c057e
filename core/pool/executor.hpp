// The seam between the scheduler and whatever runs a job: a local child process today, an SSH
// channel on a remote host (remote_executor.hpp). The scheduler only starts jobs, hears their output and end, and
// signals them; it never sees a pid or a pipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/util/exit_status.hpp"

namespace netlab::pool {

struct JobSpec {
  std::uint64_t seq = 0;
  unsigned slot = 0;
  std::vector<std::string> argv;
};

struct JobOutcome {
  // How the job ended. One that could not start exited 126 or 127, as a shell would report; one
  // whose host could not be reached, or whose channel closed without a status, is unknown; one
  // stopped for using the terminal it does not have (a local job's /dev/tty is netlab's, where it
  // is a background group) was killed for it (ExitStatus::Kind::terminal_stop). `timed_out` is
  // not read: --timeout is the scheduler's own.
  ExitStatus ending;
  // What the joblog's Exitval and --json's "exit" say when the executor has its own number for
  // the job: ssh-exec's hosts report the status ssh-exec would end with for that host alone
  // (128+N for signal N, its failures' codes). Absent: exit_value()'s default.
  std::optional<std::int64_t> reported_exit;
  // Why the job failed on netlab's side: it could not start ("nosuch: command not found"), its
  // host could not be reached, a transfer failed. Empty when the command itself decided the
  // outcome.
  std::string start_error;
  // Where it ran, for the joblog's Host column; empty: the executor's host().
  std::string host;
  // It never ran because its host (or every host) could not be connected to or authenticated
  // with; a run where every job ends so exits 255, as ssh does.
  bool unreachable = false;
  // Bytes and files copied for the job (ssh-exec's --put/--get), for --json; absent: none tried.
  std::optional<std::uint64_t> bytes_transferred;
  std::optional<std::uint64_t> files_transferred;

  // The joblog's Exitval, as GNU parallel has it: reported_exit when set, else the code the job
  // exited with, 0 when a signal ended it (the Signal column, ending.term_signal(), says which),
  // 255 when unknown (as ssh reports a connection failure).
  std::int64_t exit_value() const {
    if (reported_exit) {
      return *reported_exit;
    }
    switch (ending.kind) {
    case ExitStatus::Kind::exited:
      return ending.code;
    case ExitStatus::Kind::signaled:
    case ExitStatus::Kind::terminal_stop:
      return k_exit_ok;
    case ExitStatus::Kind::unknown:
      break;
    }
    return k_exit_connect;
  }
};

// Receives one job's events on the loop thread. Output arrives in order per stream; done()
// comes last, exactly once, possibly from inside Executor::start.
class JobObserver {
public:
  virtual void on_stdout(std::string_view data) = 0;
  virtual void on_stderr(std::string_view data) = 0;
  virtual void on_done(const JobOutcome& outcome) = 0;
  // A local job's output pipe `fd` (read end, non-blocking, not owned) is readable: take what it
  // holds. Returns the bytes taken (> 0), 0 at end of file, -EAGAIN when nothing was there, or
  // another -errno. The default reads and calls on_stdout/on_stderr; the scheduler overrides it
  // to splice stdout straight into its capture's holding pipe (capture.hpp).
  virtual std::ptrdiff_t take_stdout(int fd);
  virtual std::ptrdiff_t take_stderr(int fd);

protected:
  ~JobObserver() = default;
};

// A started job, for signalling. Dropping it does not stop the job.
class JobControl {
public:
  virtual ~JobControl() = default;
  // Signals the whole job (the process group of a local job).
  virtual void signal(int signum) = 0;
};

class Executor {
public:
  virtual ~Executor() = default;
  // Starts a job. `observer` must outlive the job (until on_done). Returns nullptr when the job
  // finished already (could not start, or ran synchronously).
  virtual std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) = 0;
  // Name for the joblog's Host column.
  virtual std::string host() const { return ":"; }
  // How many jobs it can run at once right now; the pool starts no more than this (and always at
  // least one, so jobs fail rather than wait when nothing can run them). SSH sessions raise it as
  // they connect and lower it when a host is lost.
  virtual unsigned capacity() const { return ~0U; }
  // Called on the loop thread when capacity() may have grown, so the pool starts more jobs.
  virtual void on_capacity_change(std::function<void()> callback) { (void)callback; }
};

// Runs each job as a child process in its own process group, stdin from /dev/null, stdout and
// stderr on pipes read by the loop.
std::unique_ptr<Executor> make_local_executor(loop::Loop& loop);

// Runs nothing: each job "prints" its command line (--dry-run), through the same grouping,
// ordering and tagging as real output.
std::unique_ptr<Executor> make_dry_run_executor(bool shell);

} // namespace netlab::pool
