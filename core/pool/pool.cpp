// The pool's scheduler on one libuv loop. Nothing here polls: jobs start when a slot frees (exit
// + EOFs), inputs when the source has one, timeouts on per-slot timers.
#include "core/pool/pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <queue>

#include <fmt/format.h>

#include "core/loop/process.hpp"
#include "core/loop/timer.hpp"
#include "core/pool/command_line.hpp"
#include "core/pool/input.hpp"
#include "core/pool/joblog.hpp"
#include "core/pool/template.hpp"
#include "core/util/log.hpp"
#include "core/util/status_line.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

int PoolResult::exit_code() const {
  if (failed == 0) {
    return k_exit_ok;
  }
  if (unreachable == failed && succeeded == 0) {
    return k_exit_connect;
  }
  return failed <= k_max_failed_status ? static_cast<int>(failed) : k_max_failed_status + 1;
}

Result<int> PoolResult::status() const {
  if (interrupted) {
    // As a shell reports a command killed by the signal: 130 INT, 143 TERM, 129 HUP.
    int signum = interrupt_signal != 0 ? interrupt_signal : SIGINT;
    return fail_exit(signal_exit_status(signum), fmt::format("interrupted by SIG{}", loop::signal_name(signum)));
  }
  if (output_closed) {
    return fail("write stdout: broken pipe");
  }
  return exit_code();
}

namespace {

double wall_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

class Pool;

// One job, reused for the next once its output is written: its captures keep their memory.
struct PoolJob final : JobObserver {
  PoolJob(Pool& owner, MemoryBudget& budget, SpillFile& spill) : pool(owner), out(budget, spill), err(budget, spill) {
    out.use_holding_pipe(true);
  }

  void on_stdout(std::string_view data) override { out.append(data); }
  void on_stderr(std::string_view data) override { err.append(data); }
  std::ptrdiff_t take_stdout(int fd) override { return out.take_from(fd); }
  std::ptrdiff_t take_stderr(int fd) override { return err.take_from(fd); }
  void on_done(const JobOutcome& result) override;

  Pool& pool;
  std::uint64_t seq = 0;
  unsigned slot = 0; // 1-based, {%}
  unsigned attempt = 0;
  std::vector<std::string> inputs;
  std::vector<std::string> argv;
  Capture out;
  Capture err;
  std::uint64_t start_ns = 0;
  std::shared_ptr<JobControl> control;
  JobOutcome outcome;
  JobRecord record;
  bool starting = false;
  bool done_during_start = false;
  bool timed_out = false;
  bool killed = false;
  bool bad_input = false; // refused before starting (a NUL in a newline-separated record)
};

class Pool {
public:
  Pool(const PoolConfig& config, loop::Loop& loop)
      : m_config(config), m_loop(loop), m_budget(config.memory),
        m_template(CommandTemplate::parse(config.command, config.shell)), m_slots(config.jobs), m_timers(config.jobs) {
    for (unsigned i = 0; i < config.jobs; ++i) {
      m_free_slots.push(i);
    }
    m_budget.pipe_count_max = std::min(m_budget.pipe_count_max, holding_pipe_cap(config.jobs));
  }

  Result<void> start() {
    m_executor = m_config.executor ? m_config.executor(m_loop) : make_local_executor(m_loop);
    m_executor->on_capacity_change([this] { fill(); });
    if (!m_config.groups.empty()) {
      m_source = std::make_unique<GroupSource>(m_config.groups, m_config.linked);
    } else {
      NETLAB_TRY(auto stream, StreamSource::open(m_loop, m_config.input_fd, m_config.separator));
      m_source = std::move(stream);
    }
    m_source->on_ready([this] { fill(); });
    if (!m_config.joblog.empty()) {
      NETLAB_TRY(m_joblog_fd, open_joblog(m_config.joblog));
      NETLAB_TRY_VOID(write_all(m_joblog_fd, joblog_header()));
    }
    // QUIT and HUP stop the run like TERM: every job runs in a session of its own, so a terminal's
    // hangup or Ctrl-\ reaches only pool-run, which must not leave the jobs running unsupervised.
    for (int signum : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
      auto watcher = loop::Signal::create(m_loop);
      watcher->start(signum, [this](int number) { interrupt(number); });
      m_signals.push_back(std::move(watcher));
    }
    m_kill_timer = loop::Timer::create(m_loop);
    widen_output_pipe();
    if (m_config.progress) {
      m_start_ns = uv_hrtime();
      m_progress_timer = loop::Timer::create(m_loop);
      m_progress_timer->start(200, 200, [this] { draw_progress(); });
    }
    fill();
    return {};
  }

  ~Pool() {
    if (m_joblog_fd >= 0) {
      ::close(m_joblog_fd);
    }
  }

  const PoolResult& result() const { return m_result; }
  bool finished() const { return m_finished; }
  Result<void> joblog_status() const { return m_joblog_error.empty() ? Result<void>() : fail(m_joblog_error); }

  void job_done(PoolJob& job) {
    if (job.starting) {
      job.done_during_start = true;
      return;
    }
    finish(job);
  }

private:
  // A job's output is written whole when it ends, up to 1 MiB at once; into a default 64 KiB pipe
  // that is one block and wake-up of the reader per 64 KiB, during which the loop reads no job.
  // A larger pipe (best effort: the kernel may refuse past the user's pipe limits) lets one write
  // take a job's output. Only ever grown, never shrunk, as the pipe is shared with its reader.
  void widen_output_pipe() {
    constexpr int k_output_pipe_size = 1 << 20;
    struct stat info {};
    if (::fstat(m_config.stdout_fd, &info) != 0 || !S_ISFIFO(info.st_mode)) {
      return;
    }
    int current = ::fcntl(m_config.stdout_fd, F_GETPIPE_SZ);
    if (current > 0 && current < k_output_pipe_size) {
      (void)::fcntl(m_config.stdout_fd, F_SETPIPE_SZ, k_output_pipe_size);
    }
  }

  std::unique_ptr<PoolJob> take_job() {
    if (m_spare.empty()) {
      return std::make_unique<PoolJob>(*this, m_budget, m_spill);
    }
    auto job = std::move(m_spare.back());
    m_spare.pop_back();
    return job;
  }

  void recycle(std::unique_ptr<PoolJob> job) {
    job->out.reset();
    job->err.reset();
    job->control.reset();
    m_spare.push_back(std::move(job));
  }

  // Starts jobs while slots are free. Re-entrant calls (a job that ends inside start, an input
  // arriving) fold into the running loop instead of recursing.
  void fill() {
    if (m_filling || m_finished) {
      return;
    }
    m_filling = true;
    while (!m_stop_starting && m_running < std::min(m_config.jobs, std::max(1U, m_executor->capacity()))) {
      std::unique_ptr<PoolJob> job;
      if (!m_retry.empty()) {
        job = std::move(m_retry.front());
        m_retry.pop_front();
      } else {
        job = take_job();
        if (!m_source->next(job->inputs)) {
          m_spare.push_back(std::move(job));
          break;
        }
        job->seq = ++m_last_seq;
        job->attempt = 0;
        ++m_result.started;
      }
      launch(std::move(job));
    }
    m_filling = false;
    maybe_finish();
  }

  void launch(std::unique_ptr<PoolJob> owned) {
    unsigned index = m_free_slots.top();
    m_free_slots.pop();
    PoolJob& job = *owned;
    m_slots[index] = std::move(owned);
    ++m_running;
    job.slot = index + 1;
    job.timed_out = false;
    job.killed = false;
    job.outcome = {};
    m_template.expand_into(JobValues{&job.inputs, job.seq, job.slot}, job.argv);
    if (m_config.tag && !m_config.json) {
      std::string prefix;
      for (const auto& input : job.inputs) {
        prefix.append(prefix.empty() ? "" : " ").append(input);
      }
      prefix.append(m_config.tag_separator);
      job.out.set_prefix(prefix);
      job.err.set_prefix(std::move(prefix));
    }
    job.record.start_time = wall_seconds();
    job.start_ns = uv_hrtime();
    job.bad_input = false;
    if (m_config.separator != '\0' && std::any_of(job.inputs.begin(), job.inputs.end(), [](const std::string& input) {
          return input.find('\0') != std::string::npos;
        })) {
      // An argument ends at its first NUL: running the job would silently use a cut input.
      job.bad_input = true;
      job.err.append(fmt::format("netlab: {}: input {} contains a NUL byte, which no argument can hold; not run "
                                 "(for NUL-separated input use -0)\n",
                                 command_name(), job.seq));
      job.outcome.ending = ExitStatus::exited(k_exit_failure);
      finish(job);
      return;
    }
    job.starting = true;
    job.done_during_start = false;
    auto control = m_executor->start(JobSpec{job.seq, job.slot, job.argv}, job);
    job.starting = false;
    if (job.done_during_start) {
      finish(job);
      return;
    }
    job.control = std::move(control);
    if (m_config.timeout > Seconds::zero()) {
      auto& timer = m_timers[index];
      if (!timer) {
        timer = loop::Timer::create(m_loop);
      }
      timer->start(timer_ms(m_config.timeout), 0, [this, index] { time_out(index); });
    }
  }

  void time_out(unsigned index) {
    PoolJob* job = m_slots[index].get();
    if (job == nullptr || !job->control) {
      return;
    }
    job->timed_out = true;
    job->control->signal(SIGTERM);
    m_timers[index]->start(timer_ms(m_config.kill_grace), 0, [this, index] {
      if (PoolJob* stuck = m_slots[index].get(); stuck != nullptr && stuck->control) {
        stuck->control->signal(SIGKILL);
      }
    });
  }

  void finish(PoolJob& job) {
    unsigned index = job.slot - 1;
    if (m_timers[index]) {
      m_timers[index]->stop();
    }
    auto owned = std::move(m_slots[index]);
    m_free_slots.push(index);
    --m_running;
    job.control.reset();
    double runtime = static_cast<double>(uv_hrtime() - job.start_ns) / 1e9;
    bool ok = !job.timed_out && job.outcome.exit_value() == 0 && job.outcome.ending.term_signal() == 0;
    if (!ok && !job.killed && !job.bad_input && !m_stop_starting && job.attempt < m_config.retries) {
      // Only the last attempt's output is shown, as with GNU parallel's --retries.
      ++job.attempt;
      job.out.reset();
      job.err.reset();
      m_retry.push_back(std::move(owned));
      fill();
      return;
    }
    if (job.timed_out) {
      job.err.append(
          fmt::format("netlab: {}: job {} timed out after {} s\n", command_name(), job.seq, m_config.timeout.count()));
    } else if (int stop = job.outcome.ending.terminal_stop(); stop != 0) {
      // Killed by the executor: left stopped it would hang the run (core/loop/spawn.hpp).
      job.err.append(fmt::format("netlab: {}: job {} ({}) tried to {} the terminal and was stopped by SIG{}; "
                                 "jobs cannot use the terminal (stdin is /dev/null)\n",
                                 command_name(), job.seq, shown_command(job.argv, m_config.shell),
                                 stop == SIGTTIN ? "read" : "use", loop::signal_name(stop)));
    }
    if (job.killed) {
      ++m_result.killed;
    } else if (ok) {
      ++m_result.succeeded;
    } else {
      ++m_result.failed;
      if (job.outcome.unreachable) {
        ++m_result.unreachable;
      }
    }
    auto& record = job.record;
    record.seq = job.seq;
    record.host = job.outcome.host.empty() ? m_executor->host() : job.outcome.host;
    record.runtime = runtime;
    record.exit_code = job.outcome.exit_value();
    record.signal = job.outcome.ending.term_signal();
    record.timed_out = job.timed_out;
    record.inputs = &job.inputs;
    record.error = job.outcome.start_error;
    record.bytes_transferred = job.outcome.bytes_transferred;
    record.files_transferred = job.outcome.files_transferred;
    if (!m_config.fixed_command.empty()) {
      record.command = m_config.fixed_command;
    } else if (m_joblog_fd >= 0 || m_config.json) {
      record.command = shown_command(job.argv, m_config.shell);
    }
    if (m_config.on_finished && !job.killed) {
      m_config.on_finished(record, job.outcome);
    }
    if (m_joblog_fd >= 0 && m_joblog_error.empty()) {
      auto written = write_all(m_joblog_fd, joblog_line(record));
      if (!written) {
        m_joblog_error = fmt::format("joblog {}: {}", m_config.joblog, written.error());
      }
    }
    job.out.finish_line();
    job.err.finish_line();
    if (m_config.keep_order) {
      m_pending.emplace(job.seq, std::move(owned));
      flush_ordered(false);
    } else {
      emit(job);
      recycle(std::move(owned));
    }
    if (!m_stop_starting && m_config.halt.triggered(m_result.failed, m_result.succeeded)) {
      halt();
    }
    fill();
  }

  // Writes finished jobs in input order; `all` at the end, when gaps (jobs never run) remain.
  void flush_ordered(bool all) {
    while (!m_pending.empty() && (all || m_pending.begin()->first == m_next_emit)) {
      auto node = m_pending.extract(m_pending.begin());
      m_next_emit = node.key() + 1;
      emit(*node.mapped());
      recycle(std::move(node.mapped()));
    }
  }

  void emit(PoolJob& job) {
    if (m_result.output_closed) {
      return;
    }
    clear_progress();
    Result<void> written;
    if (m_config.json) {
      auto out = job.out.read_all();
      auto err = job.err.read_all();
      if (!out || !err) {
        log::line(!out ? out.error() : err.error());
        return;
      }
      written = write_all(m_config.stdout_fd, json_line(job.record, *out, *err));
    } else {
      std::string header = m_config.group_header ? m_config.group_header(job.record, job.outcome) : std::string();
      if (!header.empty()) {
        written = write_all(m_config.stdout_fd, header);
      }
      if (written) {
        written = job.out.write_to(m_config.stdout_fd);
      }
      if (written) {
        // stderr's reader going away is not worth stopping for.
        if (!header.empty() && !job.err.empty()) {
          (void)write_all(m_config.stderr_fd, header);
        }
        (void)job.err.write_to(m_config.stderr_fd);
      }
    }
    if (!written) {
      // The reader of our output left (`netlab pool-run ... | head`): stop like xargs would.
      m_result.output_closed = true;
      halt_now();
    }
  }

  void halt() {
    m_result.halted = true;
    const char* what = m_config.halt.on == HaltPolicy::On::fail ? "failed" : "succeeded";
    std::uint64_t count = m_config.halt.on == HaltPolicy::On::fail ? m_result.failed : m_result.succeeded;
    clear_progress();
    if (m_config.halt.when == HaltPolicy::When::now) {
      log::info("halting: {} job{} {}; killing {} running", count, count == 1 ? "" : "s", what, m_running);
      halt_now();
    } else {
      log::info("halting: {} job{} {}; waiting for {} running", count, count == 1 ? "" : "s", what, m_running);
      stop_starting();
    }
  }

  void stop_starting() {
    m_stop_starting = true;
    m_source->close();
  }

  // Stops everything: TERM to every running job's process group, KILL after the grace period.
  void halt_now() {
    stop_starting();
    for (auto& job : m_slots) {
      if (job && job->control) {
        job->killed = true;
        job->control->signal(SIGTERM);
      }
    }
    m_kill_timer->start(timer_ms(m_config.kill_grace), 0, [this] { kill_all(SIGKILL); });
  }

  void kill_all(int signum) {
    for (auto& job : m_slots) {
      if (job && job->control) {
        job->killed = true;
        job->control->signal(signum);
      }
    }
  }

public:
  void interrupt(int signum) {
    if (m_result.interrupted) {
      // A second Ctrl-C does not wait for the grace period.
      kill_all(SIGKILL);
      return;
    }
    m_result.interrupted = true;
    m_result.interrupt_signal = signum;
    if (m_config.on_interrupt) {
      m_config.on_interrupt(signum);
    }
    halt_now();
    maybe_finish();
  }

private:
  void maybe_finish() {
    if (m_finished || m_filling || m_running > 0) {
      return;
    }
    if (!m_stop_starting && (!m_source->exhausted() || !m_retry.empty())) {
      return;
    }
    m_finished = true;
    // Jobs waiting for a retry when the pool halted failed for good.
    while (!m_retry.empty()) {
      ++m_result.failed;
      m_retry.pop_front();
    }
    flush_ordered(true);
    clear_progress();
    m_source->close();
    for (auto& watcher : m_signals) {
      watcher->close();
    }
    for (auto& timer : m_timers) {
      if (timer) {
        timer->close();
      }
    }
    m_kill_timer->close();
    if (m_progress_timer) {
      m_progress_timer->close();
    }
  }

  void draw_progress() {
    std::uint64_t done = m_result.succeeded + m_result.failed + m_result.killed;
    std::string line = fmt::format("{} done, {} running, {} failed", done, m_running, m_result.failed);
    std::uint64_t total = m_source->known_total();
    if (total > 0 && !m_stop_starting) {
      line += fmt::format(" of {}", total);
      if (done > 0 && total > done) {
        double elapsed = static_cast<double>(uv_hrtime() - m_start_ns) / 1e9;
        line += fmt::format(", ETA {:.0f} s", elapsed / static_cast<double>(done) * static_cast<double>(total - done));
      }
    }
    m_status.show(line);
  }

  void clear_progress() { m_status.clear(); }

  static std::string command_name() { return log::command().empty() ? "pool" : log::command(); }

  const PoolConfig& m_config;
  loop::Loop& m_loop;
  MemoryBudget m_budget;
  SpillFile m_spill; // before the jobs: their captures give their extents back to it
  CommandTemplate m_template;
  std::unique_ptr<Executor> m_executor;
  std::unique_ptr<InputSource> m_source;
  PoolResult m_result;

  std::vector<std::unique_ptr<PoolJob>> m_slots;                                     // running jobs by slot
  std::priority_queue<unsigned, std::vector<unsigned>, std::greater<>> m_free_slots; // lowest first, for {%}
  std::vector<std::shared_ptr<loop::Timer>> m_timers;                                // per slot, made on first use
  std::deque<std::unique_ptr<PoolJob>> m_retry;
  std::vector<std::unique_ptr<PoolJob>> m_spare;
  std::map<std::uint64_t, std::unique_ptr<PoolJob>> m_pending; // --keep-order: done, not yet written
  std::uint64_t m_next_emit = 1;
  std::uint64_t m_last_seq = 0;
  unsigned m_running = 0;

  std::vector<std::shared_ptr<loop::Signal>> m_signals;
  std::shared_ptr<loop::Timer> m_kill_timer;
  std::shared_ptr<loop::Timer> m_progress_timer;
  std::uint64_t m_start_ns = 0;
  StatusLine m_status{m_config.stderr_fd};
  int m_joblog_fd = -1;
  std::string m_joblog_error;

  bool m_filling = false;
  bool m_stop_starting = false;
  bool m_finished = false;
};

void PoolJob::on_done(const JobOutcome& result) {
  outcome = result;
  pool.job_done(*this);
}

} // namespace

class PoolRun::Scheduler : public Pool {
public:
  using Pool::Pool;
};

PoolRun::PoolRun(const PoolConfig& config, loop::Loop& loop) : m_scheduler(std::make_unique<Scheduler>(config, loop)) {}
PoolRun::~PoolRun() = default;
Result<void> PoolRun::start() { return m_scheduler->start(); }
bool PoolRun::finished() const { return m_scheduler->finished(); }
void PoolRun::interrupt(int signum) { m_scheduler->interrupt(signum); }
const PoolResult& PoolRun::result() const { return m_scheduler->result(); }

Result<PoolResult> run_pool(const PoolConfig& config) {
  loop::Loop loop;
  PoolResult result;
  {
    Pool pool(config, loop);
    auto started = pool.start();
    if (!started) {
      loop.close_all();
      return started.failure();
    }
    loop.run();
    NETLAB_TRY_VOID(pool.joblog_status());
    result = pool.result();
  }
  if (int rc = loop.close_all(); rc != 0) {
    return fail(uv_message("event loop", "", rc));
  }
  return result;
}

} // namespace netlab::pool
