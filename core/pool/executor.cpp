// The local executor (child processes) and the dry-run executor.
#include "core/pool/executor.hpp"

#include <fmt/format.h>

#include "core/loop/spawn.hpp"
#include "core/loop/reaper.hpp"
#include "core/loop/tcp.hpp"
#include "core/pool/template.hpp"
#include "core/pool/watchdog.hpp"
#include "core/util/exit_code.hpp"
#include "core/util/log.hpp"

namespace netlab::pool {
namespace {

// One running child. It is kept alive by its handles' callbacks, which libuv drops when each
// handle closes, so it lives exactly until the last of exit, stdout EOF and stderr EOF.
class LocalJob : public JobControl, public std::enable_shared_from_this<LocalJob> {
public:
  explicit LocalJob(JobObserver& observer) : m_observer(&observer) {}

  ~LocalJob() override {
    if (m_running) {
      --*m_running;
    }
    if (m_watchdog && m_pgid > 0) {
      m_watchdog->forget(m_pgid);
    }
    // m_tree goes too, killing whatever the job left running anywhere in its process tree.
  }

  // The whole job: its process group, and with a tree every descendant, also one that left the
  // group (setsid, a double fork). SIGKILL repeats until none is left.
  void signal(int signum) override {
    if (m_tree) {
      if (signum == SIGKILL) {
        m_tree->kill();
      } else {
        // Once each: a process that traps the signal should not see it twice.
        m_tree->signal(signum);
        return;
      }
    }
    if (m_process) {
      m_process->kill_group(signum);
    }
  }

  void watch(loop::Pipe& pipe, bool is_stdout) {
    auto self = shared_from_this();
    if (is_stdout) {
      pipe.on_data([self](std::string_view data) { self->m_observer->on_stdout(data); });
    } else {
      pipe.on_data([self](std::string_view data) { self->m_observer->on_stderr(data); });
    }
    // A grandchild may keep the pipe open after the child exits; the job ends at EOF, as in GNU
    // parallel, and --timeout's group kill reaches the grandchild too.
    auto* raw = &pipe;
    pipe.on_end([self, raw] {
      raw->close();
      self->part_done();
    });
    pipe.on_error([self, raw](int) {
      raw->close();
      self->part_done();
    });
    if (pipe.read_start() != 0) {
      raw->close();
      part_done();
    }
  }

  void exited(loop::ExitStatus status) {
    m_outcome.exit_code = status.exit_code;
    m_outcome.term_signal = status.term_signal;
    m_outcome.terminal_stop = status.terminal_stop;
    m_process->close();
    part_done();
  }

  std::shared_ptr<loop::Process> m_process;
  std::shared_ptr<loop::ProcessTree> m_tree;
  std::shared_ptr<Watchdog> m_watchdog;
  // The executor's count of jobs alive, this one included.
  std::shared_ptr<std::size_t> m_running;
  pid_t m_pgid = 0;

private:
  void part_done() {
    if (--m_pending == 0) {
      m_observer->on_done(m_outcome);
    }
  }

  JobObserver* m_observer;
  JobOutcome m_outcome;
  int m_pending = 3; // exit, stdout EOF, stderr EOF
};

class LocalExecutor : public Executor {
public:
  explicit LocalExecutor(loop::Loop& loop) : m_loop(loop) {
    // Without either, jobs still run, supervised only through their process groups.
    if (auto reaper = loop::Reaper::start(loop)) {
      m_reaper = std::move(*reaper);
    } else {
      log::line(reaper.error());
    }
    if (auto watchdog = Watchdog::start()) {
      m_watchdog = std::move(*watchdog);
    } else {
      log::line(watchdog.error());
    }
  }

  ~LocalExecutor() override {
    if (m_reaper) {
      m_reaper->kill_all();
      m_reaper->close();
    }
  }

  std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) override {
    auto job = std::make_shared<LocalJob>(observer);
    job->m_running = m_running;
    ++*m_running;
    auto out = loop::Pipe::create(m_loop);
    auto err = loop::Pipe::create(m_loop);
    m_options.argv = std::move(spec.argv);
    m_options.stdin_ = loop::Stdio::ignore();
    m_options.stdout_ = loop::Stdio::piped(out, stdout_pipe_size());
    m_options.stderr_ = loop::Stdio::piped(err);
    m_options.own_group = true;
    if (m_reaper) {
      job->m_tree = m_reaper->new_tree();
      m_options.tree = job->m_tree;
    }
    auto process = loop::Process::spawn(m_loop, m_options, [job](loop::ExitStatus status) { job->exited(status); });
    // The pipes are ours again once spawn returns; drop the references the options hold. The
    // tree too: the job alone keeps it, so it goes (with any leftovers) when the job does.
    m_options.stdout_ = {};
    m_options.stderr_ = {};
    m_options.tree = {};
    if (!process) {
      out->close();
      err->close();
      bool not_found = process.code() == UV_ENOENT;
      observer.on_stderr(start_error_line(process.error(), not_found));
      JobOutcome outcome;
      outcome.exit_code = not_found ? k_exit_not_found : k_exit_cannot_execute;
      outcome.start_error = process.error();
      observer.on_done(outcome);
      return nullptr;
    }
    job->m_process = std::move(*process);
    if (m_watchdog) {
      // own_group: the job leads a process group of its own, so its pid is that group's id.
      job->m_pgid = job->m_process->pid();
      job->m_watchdog = m_watchdog;
      m_watchdog->watch(job->m_pgid);
    }
    job->watch(*out, true);
    job->watch(*err, false);
    return job;
  }

private:
  // Up to 1 MiB per job, so a job printing a lot rarely blocks on its pipe, within 16 MiB for all
  // the jobs running: past the user's fs.pipe-user-pages-soft (64 MiB by default) the kernel
  // gives every new pipe of that user, anyone's, a single page.
  std::size_t stdout_pipe_size() const {
    constexpr std::size_t k_per_job = 1 << 20;
    constexpr std::size_t k_all_jobs = 16 << 20;
    std::size_t share = k_all_jobs / *m_running;
    return share >= k_per_job ? k_per_job : (share > (64 << 10) ? share & ~std::size_t{4095} : 0);
  }

  std::string start_error_line(const std::string& error, bool not_found) {
    // "spawn nosuch: no such file or directory" reads better as a shell would put it.
    std::string text = error;
    if (not_found) {
      text = fmt::format("{}: command not found", m_options.argv.empty() ? "" : m_options.argv[0]);
    }
    return fmt::format("netlab: {}: {}\n", log::command().empty() ? "pool" : log::command(), text);
  }

  loop::Loop& m_loop;
  std::shared_ptr<std::size_t> m_running = std::make_shared<std::size_t>(0);
  // Reused across jobs so each spawn does not rebuild it.
  loop::SpawnConfig m_options;
  std::shared_ptr<loop::Reaper> m_reaper;
  // Shared with the jobs, which unregister their group when they go; it is told "all is well"
  // when the last of them and the executor are gone.
  std::shared_ptr<Watchdog> m_watchdog;
};

class DryRunExecutor : public Executor {
public:
  explicit DryRunExecutor(bool shell) : m_shell(shell) {}

  std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) override {
    observer.on_stdout(shown_command(spec.argv, m_shell) + "\n");
    observer.on_done(JobOutcome{});
    return nullptr;
  }

private:
  bool m_shell;
};

} // namespace

std::unique_ptr<Executor> make_local_executor(loop::Loop& loop) { return std::make_unique<LocalExecutor>(loop); }

std::unique_ptr<Executor> make_dry_run_executor(bool shell) { return std::make_unique<DryRunExecutor>(shell); }

} // namespace netlab::pool
