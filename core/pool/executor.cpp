// The local executor (child processes) and the dry-run executor.
#include "core/pool/executor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "core/loop/poll.hpp"
#include "core/loop/spawn.hpp"
#include "core/loop/reaper.hpp"
#include "core/loop/tcp.hpp"
#include "core/pool/template.hpp"
#include "core/pool/watchdog.hpp"
#include "core/util/exit_code.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

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

  // A grandchild may keep the pipe open after the child exits; the job ends at EOF, as in GNU
  // parallel, and --timeout's group kill reaches the grandchild too.
  void watch(const std::shared_ptr<loop::Poll>& poll, bool is_stdout) {
    auto self = shared_from_this();
    auto* raw = poll.get();
    int rc = poll->start(UV_READABLE | UV_DISCONNECT, [self, raw, is_stdout](int status, int) {
      std::ptrdiff_t taken = status < 0 ? status
                                        : (is_stdout ? self->m_observer->take_stdout(raw->fd())
                                                     : self->m_observer->take_stderr(raw->fd()));
      if (taken > 0 || taken == -EAGAIN) {
        return;
      }
      raw->close();
      self->part_done();
    });
    if (rc != 0) {
      poll->close();
      part_done();
    }
  }

  void exited(ExitStatus status) {
    m_outcome.ending = status;
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
    // Plain pipes, not libuv streams: the scheduler moves the bytes itself (splice, see
    // JobObserver::take_stdout), so libuv only says when they are readable.
    int out_fds[2] = {-1, -1};
    int err_fds[2] = {-1, -1};
    if (::pipe2(out_fds, O_CLOEXEC) != 0 || ::pipe2(err_fds, O_CLOEXEC) != 0) {
      int saved = errno;
      for (int fd : {out_fds[0], out_fds[1]}) {
        if (fd >= 0) {
          ::close(fd);
        }
      }
      return start_failed(observer, sys_message("pipe", "", saved), false);
    }
    // Best effort: a size the kernel refuses leaves the pipe as it is.
    if (std::size_t size = stdout_pipe_size(); size > 0) {
      (void)::fcntl(out_fds[0], F_SETPIPE_SZ, static_cast<int>(size));
    }
    if (std::size_t size = stderr_pipe_size(); size > 0) {
      (void)::fcntl(err_fds[0], F_SETPIPE_SZ, static_cast<int>(size));
    }
    Fd out_read(out_fds[0]);
    Fd out_write(out_fds[1]);
    Fd err_read(err_fds[0]);
    Fd err_write(err_fds[1]);
    m_options.argv = std::move(spec.argv);
    m_options.stdin_ = loop::Stdio::ignore();
    m_options.stdout_ = loop::Stdio::inherit(out_write.get());
    m_options.stderr_ = loop::Stdio::inherit(err_write.get());
    m_options.own_group = true;
    if (m_reaper) {
      job->m_tree = m_reaper->new_tree();
      m_options.tree = job->m_tree;
    }
    auto process = loop::Process::spawn(m_loop, m_options, [job](ExitStatus status) { job->exited(status); });
    // The tree is the job's alone, so it goes (with any leftovers) when the job does. The write
    // ends are the child's now: ours must go, or the job's pipes would never reach end of file.
    m_options.tree = {};
    out_write.reset();
    err_write.reset();
    if (!process) {
      return start_failed(observer, process.error(), process.code() == UV_ENOENT);
    }
    job->m_process = std::move(*process);
    if (m_watchdog) {
      // own_group: the job leads a process group of its own, so its pid is that group's id.
      job->m_pgid = job->m_process->pid();
      job->m_watchdog = m_watchdog;
      m_watchdog->watch(job->m_pgid);
    }
    job->watch(loop::Poll::create(m_loop, std::move(out_read)), true);
    job->watch(loop::Poll::create(m_loop, std::move(err_read)), false);
    return job;
  }

private:
  // A job's pipe: up to `per_job` bytes, and `all_jobs` divided by the jobs running when it
  // starts, and never under a page. The kernel counts every pipe's size against its user's quota
  // (fs.pipe-user-pages-soft, 64 MiB by default; root is exempt), and past it gives every new
  // pipe of that user, anyone's, two pages: many jobs at the default 64 KiB each (stdout and
  // stderr) would pass it, so with many running their pipes shrink instead. Returns the size to
  // ask for, or 0 to keep the kernel's default.
  std::size_t pipe_size(std::size_t per_job, std::size_t all_jobs) const {
    constexpr std::size_t k_page = 4096;
    constexpr std::size_t k_default = 64 << 10;
    std::size_t share = std::min(all_jobs / std::max<std::size_t>(*m_running, 1), per_job);
    // The kernel rounds a size up to a power of two pages: round down here, to stay in the share.
    std::size_t size = k_page;
    while (size * 2 <= share) {
      size *= 2;
    }
    return size == k_default ? 0 : size;
  }

  // stdout: a job printing a lot blocks on its pipe (and wakes us) less often in a large one.
  std::size_t stdout_pipe_size() const { return pipe_size(1 << 20, 4 << 20); }
  // stderr: rarely much; the default size, shrunk when many jobs run.
  std::size_t stderr_pipe_size() const { return pipe_size(64 << 10, 1 << 20); }

  std::shared_ptr<JobControl> start_failed(JobObserver& observer, const std::string& error, bool not_found) {
    observer.on_stderr(start_error_line(error, not_found));
    JobOutcome outcome;
    outcome.ending = ExitStatus::exited(not_found ? k_exit_not_found : k_exit_cannot_execute);
    outcome.start_error = error;
    observer.on_done(outcome);
    return nullptr;
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

std::ptrdiff_t JobObserver::take_stdout(int fd) {
  char buffer[64 * 1024];
  return read_available(fd, buffer, sizeof(buffer), [this](std::string_view data) { on_stdout(data); });
}

std::ptrdiff_t JobObserver::take_stderr(int fd) {
  char buffer[64 * 1024];
  return read_available(fd, buffer, sizeof(buffer), [this](std::string_view data) { on_stderr(data); });
}

std::unique_ptr<Executor> make_local_executor(loop::Loop& loop) { return std::make_unique<LocalExecutor>(loop); }

std::unique_ptr<Executor> make_dry_run_executor(bool shell) { return std::make_unique<DryRunExecutor>(shell); }

} // namespace netlab::pool
