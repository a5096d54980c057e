// One running command for the exec services: spawned in its own process group, output streamed
// as it comes, bounded by a timeout and an output cap, and always reaped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/exec/request.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/spawn.hpp"
#include "core/loop/reaper.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::exec {

struct ExecJobSpec {
  std::vector<std::string> argv;
  // Executed instead of looking argv[0] up in PATH (an --allow'ed program's absolute path).
  std::optional<std::string> program;
  // Merged over the server's own environment.
  std::vector<std::string> env;
  std::optional<std::string> cwd;
  std::string stdin_data;
  // 0 for none. On expiry the group gets SIGTERM, then SIGKILL after `kill_grace`.
  Seconds timeout{0};
  Seconds kill_grace{2.0};
  // Bytes of stdout + stderr passed on; the command is killed once it writes more.
  std::uint64_t max_output = UINT64_MAX;
  // After the command exits, how long a process that escaped its group may keep the output
  // pipes open before we stop waiting for them. Only time spent reading them counts: while output
  // is paused (a slow client), what the command wrote before exiting waits in the pipes for it.
  Seconds drain_after_exit{2.0};
  // With a reaper, the command runs as a loop::ProcessTree: the timeout, the output cap, abort()
  // and the command's exit reach every process it started, also those that left its process
  // group or session, and the job counts as running until the last of them is gone. Without one,
  // they reach its process group only.
  std::shared_ptr<loop::Reaper> reaper;
};

struct JobEvents {
  // `fd` is 1 or 2; the view is valid only during the call.
  std::function<void(int fd, std::string_view data)> on_output;
  // Runs once, after the command exited and its output pipes are drained.
  std::function<void(const ExitInfo& info)> on_done;
};

class Job : public std::enable_shared_from_this<Job> {
public:
  // Spawns the command. `running` counts live jobs; it drops when the child has been reaped and
  // (with a reaper) its whole tree is gone.
  static Result<std::shared_ptr<Job>> start(loop::Loop& loop, ExecJobSpec spec, JobEvents events,
                                            std::shared_ptr<std::size_t> running);
  ~Job();

  // Stop and resume reading the command's output (back-pressure from a slow client); the
  // command blocks on a full pipe meanwhile.
  void pause_output();
  void resume_output();
  // Signals the command's process group.
  void signal(int signum);
  // The client is gone: kill the group (the tree), drop the events; the child is still reaped.
  void abort();
  int pid() const { return m_process ? m_process->pid() : 0; }

  Job(loop::Loop& loop, ExecJobSpec spec, JobEvents events, std::shared_ptr<std::size_t> running);

private:
  Result<void> spawn();
  void on_output(int fd, std::string_view data);
  void on_exit(ExitStatus status);
  void close_output(int fd);
  void maybe_finish();
  void on_timer();
  // (Re)starts and stops the wait for pipes still open after the command exited.
  void start_drain();
  void stop_drain();
  // Signals everything the command started: its tree, or its process group.
  void signal_all(int signum);
  // Once the command exited: kills what it left behind and gives back its running slot when
  // nothing of it is left.
  void reap_leftovers();

  loop::Loop& m_loop;
  ExecJobSpec m_spec;
  JobEvents m_events;
  std::shared_ptr<std::size_t> m_running;
  std::shared_ptr<loop::Process> m_process;
  std::shared_ptr<loop::Pipe> m_stdin;
  std::shared_ptr<loop::Pipe> m_stdout;
  std::shared_ptr<loop::Pipe> m_stderr;
  std::shared_ptr<loop::Timer> m_timer;
  std::shared_ptr<loop::Timer> m_drain;
  std::shared_ptr<loop::ProcessTree> m_tree;
  // Retries reap_leftovers while a killed process is slow to die.
  std::shared_ptr<loop::Timer> m_leftovers;
  bool m_counted = false;
  ExitInfo m_info;
  std::uint64_t m_started_ns = 0;
  bool m_exited = false;
  bool m_reaped = false;
  bool m_finished = false;
  bool m_paused = false;
  bool m_term_sent = false;
};

} // namespace netlab::exec
