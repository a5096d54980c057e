// Jobs. Every handle callback holds the job, so it lives until its last handle has closed; the
// process handle closes only in its exit callback, which is what makes libuv reap the child.
#include "core/exec/job.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/loop/process.hpp"
#include "core/util/sys_error.hpp"

extern char** environ;

namespace netlab::exec {
namespace {

// Ours, minus NETLAB_TOKEN (the server's secret is not its commands'), with `overrides` on top.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> out;
  auto key_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (key_of(text) == "NETLAB_TOKEN") {
      continue;
    }
    bool replaced = false;
    for (const auto& override_entry : overrides) {
      if (key_of(override_entry) == key_of(text)) {
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out.emplace_back(text);
    }
  }
  out.insert(out.end(), overrides.begin(), overrides.end());
  return out;
}

// 0 when `cwd` is unset or a folder we may enter, else why not (an errno).
int unusable_directory(const std::optional<std::string>& cwd) {
  if (!cwd) {
    return 0;
  }
  struct stat st {};
  if (::stat(cwd->c_str(), &st) != 0) {
    return errno;
  }
  if (!S_ISDIR(st.st_mode)) {
    return ENOTDIR;
  }
  return ::access(cwd->c_str(), X_OK) != 0 ? errno : 0;
}

} // namespace

Job::Job(loop::Loop& loop, ExecJobSpec spec, JobEvents events, std::shared_ptr<std::size_t> running)
    : m_loop(loop), m_spec(std::move(spec)), m_events(std::move(events)), m_running(std::move(running)) {}

Job::~Job() {
  // Only a loop torn down under a live child gets here unreaped (server shutdown); the group must
  // not outlive us. The tree kills what is left of itself when it goes.
  if (m_process && !m_reaped) {
    m_process->kill_group(SIGKILL);
  }
  if (m_counted && m_running && *m_running > 0) {
    --*m_running;
  }
}

Result<std::shared_ptr<Job>> Job::start(loop::Loop& loop, ExecJobSpec spec, JobEvents events,
                                        std::shared_ptr<std::size_t> running) {
  auto job = std::make_shared<Job>(loop, std::move(spec), std::move(events), std::move(running));
  NETLAB_TRY_VOID(job->spawn());
  return job;
}

Result<void> Job::spawn() {
  loop::SpawnConfig options;
  options.argv = m_spec.argv;
  options.file = m_spec.program;
  options.cwd = m_spec.cwd;
  options.env = merged_environment(m_spec.env);
  m_stdout = loop::Pipe::create(m_loop);
  m_stderr = loop::Pipe::create(m_loop);
  options.stdout_ = loop::Stdio::piped(m_stdout);
  options.stderr_ = loop::Stdio::piped(m_stderr);
  if (!m_spec.stdin_data.empty()) {
    m_stdin = loop::Pipe::create(m_loop);
    options.stdin_ = loop::Stdio::piped(m_stdin);
  }
  options.own_group = true;
  if (m_spec.reaper) {
    m_tree = m_spec.reaper->new_tree();
    options.tree = m_tree;
  }

  auto spawned =
      loop::Process::spawn(m_loop, options, [self = shared_from_this()](ExitStatus status) { self->on_exit(status); });
  if (!spawned) {
    for (auto* pipe : {&m_stdin, &m_stdout, &m_stderr}) {
      if (*pipe) {
        (*pipe)->close();
        pipe->reset();
      }
    }
    // posix_spawn reports a working directory it cannot enter as if the program failed ("spawn
    // ls: no such file or directory"): name the directory instead.
    if (int err = unusable_directory(m_spec.cwd); err != 0) {
      return uv_failure("cwd", *m_spec.cwd, uv_translate_sys_error(err));
    }
    return spawned.failure();
  }
  m_process = std::move(*spawned);
  m_started_ns = uv_hrtime();
  if (m_running) {
    ++*m_running;
    m_counted = true;
  }

  for (int fd : {1, 2}) {
    auto& pipe = fd == 1 ? m_stdout : m_stderr;
    auto self = shared_from_this();
    pipe->on_data([self, fd](std::string_view data) { self->on_output(fd, data); });
    pipe->on_end([self, fd] { self->close_output(fd); });
    pipe->on_error([self, fd](int) { self->close_output(fd); });
    pipe->read_start();
  }

  if (m_stdin) {
    auto pipe = m_stdin;
    // A command that exits without reading its input makes this write fail with EPIPE: that
    // is the command's business, not an error of ours.
    pipe->on_error([pipe](int) { pipe->close(); });
    pipe->write(std::move(m_spec.stdin_data));
    m_spec.stdin_data = std::string();
    if (pipe->shutdown([pipe](int) { pipe->close(); }) != 0) {
      pipe->close();
    }
  }

  if (m_spec.timeout > Seconds::zero()) {
    m_timer = loop::Timer::create(m_loop);
    // One repeating timer: the first tick asks politely, the next ones insist.
    m_timer->start(timer_ms(m_spec.timeout), std::max<std::uint64_t>(1, timer_ms(m_spec.kill_grace)),
                   [self = shared_from_this()] { self->on_timer(); });
  }
  return {};
}

void Job::on_timer() {
  if (m_exited) {
    return;
  }
  if (!m_term_sent) {
    m_term_sent = true;
    m_info.ending.timed_out = true;
    signal_all(SIGTERM);
  } else {
    signal_all(SIGKILL);
  }
}

void Job::signal_all(int signum) {
  if (m_tree && signum != SIGKILL) {
    // Once each: a process that traps the signal should not see it twice.
    m_tree->signal(signum);
    return;
  }
  if (m_tree) {
    m_tree->kill();
  }
  if (m_process) {
    m_process->kill_group(signum);
  }
}

void Job::reap_leftovers() {
  std::size_t left = 0;
  if (m_tree) {
    left = m_tree->kill();
  }
  if (left == 0) {
    if (m_leftovers) {
      m_leftovers->close();
      m_leftovers.reset();
    }
    if (m_counted && m_running && *m_running > 0) {
      --*m_running;
    }
    m_counted = false;
    return;
  }
  // A process in uninterruptible sleep dies when it wakes; until then it holds the slot.
  if (!m_leftovers) {
    m_leftovers = loop::Timer::create(m_loop);
    m_leftovers->start(50, 50, [self = shared_from_this()] { self->reap_leftovers(); });
  }
}

void Job::on_output(int fd, std::string_view data) {
  if (m_finished || m_info.truncated) {
    return;
  }
  std::uint64_t total = m_info.stdout_size + m_info.stderr_size;
  std::uint64_t room = m_spec.max_output > total ? m_spec.max_output - total : 0;
  bool over = data.size() > room;
  if (over) {
    data = data.substr(0, static_cast<std::size_t>(room));
    m_info.truncated = true;
  }
  (fd == 1 ? m_info.stdout_size : m_info.stderr_size) += data.size();
  auto keep = shared_from_this();
  if (m_exited && !m_paused) {
    start_drain();
  }
  if (!data.empty() && m_events.on_output) {
    m_events.on_output(fd, data);
  }
  if (over && !m_finished) {
    // Nothing past the cap is read, so nothing past it is held anywhere.
    if (!m_exited) {
      signal_all(SIGKILL);
    }
    close_output(1);
    close_output(2);
  }
}

void Job::close_output(int fd) {
  auto& pipe = fd == 1 ? m_stdout : m_stderr;
  if (!pipe) {
    return;
  }
  pipe->close();
  pipe.reset();
  maybe_finish();
}

void Job::on_exit(ExitStatus status) {
  m_exited = true;
  m_reaped = true;
  bool timed_out = m_info.ending.timed_out;
  m_info.ending = status;
  m_info.ending.timed_out = timed_out;
  if (status.terminal_stop() != 0) {
    // Stopped for using netlab's terminal and killed for it (core/loop/spawn.hpp): say so in the
    // command's own stderr, where its caller looks.
    on_output(2, fmt::format("netlab: exec-server: command {} tried to {} the terminal and was stopped by SIG{}; "
                             "commands cannot use the terminal\n",
                             m_spec.argv.empty() ? std::string() : m_spec.argv[0],
                             status.terminal_stop() == SIGTTIN ? "read" : "use",
                             loop::signal_name(status.terminal_stop())));
  }
  // Whatever the command left running (in its group, or anywhere in its tree) goes with it, so
  // it cannot hold the output pipes (or anything else) open after the command has been reported
  // finished.
  m_process->kill_group(SIGKILL);
  reap_leftovers();
  m_process->close();
  if (m_timer) {
    m_timer->close();
    m_timer.reset();
  }
  if (!m_paused) {
    start_drain();
  }
  maybe_finish();
}

void Job::start_drain() {
  if (m_finished || (!m_stdout && !m_stderr)) {
    return;
  }
  // A process out of our reach (it was handed the pipe, or sleeps uninterruptibly) may hold the
  // pipes open after the command exited: stop waiting once they have given nothing for
  // drain_after_exit. Only while we read them: what the command wrote before it exited is still
  // in the pipes while a slow client keeps us paused, and must reach it.
  if (!m_drain) {
    m_drain = loop::Timer::create(m_loop);
  }
  m_drain->start(timer_ms(m_spec.drain_after_exit), 0, [self = shared_from_this()] {
    self->close_output(1);
    self->close_output(2);
  });
}

void Job::stop_drain() {
  if (m_drain) {
    m_drain->stop();
  }
}

void Job::maybe_finish() {
  if (m_finished || !m_exited || m_stdout || m_stderr) {
    return;
  }
  m_finished = true;
  m_info.duration_ms = static_cast<double>(uv_hrtime() - m_started_ns) / 1e6;
  for (auto* timer : {&m_timer, &m_drain}) {
    if (*timer) {
      (*timer)->close();
      timer->reset();
    }
  }
  if (m_stdin) {
    m_stdin->close();
    m_stdin.reset();
  }
  auto events = std::move(m_events);
  m_events = {};
  if (events.on_done) {
    events.on_done(m_info);
  }
}

void Job::pause_output() {
  m_paused = true;
  for (auto* pipe : {&m_stdout, &m_stderr}) {
    if (*pipe) {
      (*pipe)->read_stop();
    }
  }
  stop_drain();
}

void Job::resume_output() {
  if (!m_paused || m_finished) {
    return;
  }
  m_paused = false;
  for (auto* pipe : {&m_stdout, &m_stderr}) {
    if (*pipe && !(*pipe)->reading()) {
      (*pipe)->read_start();
    }
  }
  if (m_exited) {
    start_drain();
  }
}

void Job::signal(int signum) {
  if (m_process && !m_exited) {
    m_process->kill_group(signum);
  }
}

void Job::abort() {
  if (m_finished) {
    return;
  }
  m_finished = true;
  m_events = {};
  if (m_process && !m_reaped) {
    signal_all(SIGKILL);
  }
  for (auto* pipe : {&m_stdin, &m_stdout, &m_stderr}) {
    if (*pipe) {
      (*pipe)->close();
      pipe->reset();
    }
  }
  for (auto* timer : {&m_timer, &m_drain}) {
    if (*timer) {
      (*timer)->close();
      timer->reset();
    }
  }
}

} // namespace netlab::exec
