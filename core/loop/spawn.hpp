// Child processes on the loop: the one way netlab starts a local program (pool-run's jobs,
// exec-server's commands).
//
// How: posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), so the parent pays no page-table copy
// and no copy-on-write faults), with
//  - POSIX_SPAWN_SETPGROUP (pgid 0): each child leads a new process group, so kill_group()
//    reaches what it starts in that group; a Reaper tree (core/loop/reaper.hpp) reaches the
//    rest;
//  - POSIX_SPAWN_SETSIGMASK (empty) and POSIX_SPAWN_SETSIGDEF (every signal): the child starts
//    with nothing blocked and every disposition at its default (netlab ignores SIGPIPE; a job
//    must not inherit that);
//  - file actions for the working directory (posix_spawn_file_actions_addchdir_np) and the
//    standard descriptors; the environment is passed whole.
// Output goes through pipe2(O_CLOEXEC) pipes whose parent ends the caller's loop::Pipe reads;
// the child gets only descriptors 0, 1 and 2 of ours (every descriptor netlab opens is
// close-on-exec) plus whatever netlab itself inherited without close-on-exec, as with xargs.
// Children are reaped from one SIGCHLD watcher per loop, by waitpid on the pids this loop
// spawned (never waitpid(-1): orphans re-parented to us belong to the Reaper).
//
// What posix_spawn cannot express, and why it is still correct:
//  - setsid(): not wanted. A child leads a process group in netlab's session, not a session
//    (setsid in every job cost more than the job under autogroup scheduling). Consequence: a
//    job that opens the terminal (/dev/tty) is a background job there, and the kernel stops it
//    with SIGTTIN when it reads it (SIGTTOU when it changes the terminal's modes, as a password
//    prompt does, or writes to it under `stty tostop`), where it used to get ENXIO. The SIGCHLD
//    watcher waits with WUNTRACED, and when one of our children stops so it kills the child's
//    group with SIGKILL and reports the child ended by that signal (ExitStatus::Kind::terminal_stop),
//    instead of leaving it stopped forever. Limit: only the child itself is seen stopping; a
//    descendant it waits for that stops so is not (the child then waits until --timeout, Ctrl-C
//    or the group kill ends it). Stops by SIGSTOP or SIGTSTP (sent by a user) are left alone.
//  - PATH lookup in the child's environment: posix_spawnp searches the PATH of the calling
//    process. The lookup runs here, in the parent, over the PATH of the environment the child
//    gets, relative entries taken from the child's working directory, as execvp in the child
//    did before; the result goes to posix_spawn.
//  - execvp's fallback to /bin/sh for a file without a #! line (ENOEXEC): glibc's posix_spawn
//    has none, so spawn() retries such a file as `/bin/sh FILE ARGS...`, as execvp does.
//  - PR_SET_PDEATHSIG, rlimits, closing inherited descriptors: the old fork-based spawn did
//    none of these either. What kills jobs when netlab is SIGKILLed is pool-run's watchdog
//    (core/pool/watchdog.hpp), which is forked once per run, not per job.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/loop/process.hpp"
#include "core/loop/tcp.hpp"
#include "core/util/exit_status.hpp"
#include "core/util/result.hpp"

namespace netlab::loop {

class ProcessTree;

// How one of the child's standard descriptors is connected.
struct Stdio {
  enum class Kind { ignore, inherit, pipe };
  Kind kind = Kind::ignore;   // ignore: /dev/null
  int fd = -1;                // for inherit: our descriptor the child gets
  std::shared_ptr<Pipe> pipe; // for pipe: our end, created by the caller with Pipe::create
  // For pipe: the capacity to ask for (F_SETPIPE_SZ, bytes), so a child writing a lot blocks
  // (and wakes us) less often; 0 keeps the kernel's 64 KiB. Best effort: the kernel caps it
  // (fs.pipe-max-size, and the user's fs.pipe-user-pages-soft), and a refusal is not an error.
  std::size_t pipe_size = 0;

  static Stdio ignore() { return {}; }
  static Stdio inherit(int fd) { return {Kind::inherit, fd, nullptr}; }
  static Stdio piped(std::shared_ptr<Pipe> pipe, std::size_t size = 0) {
    return {Kind::pipe, -1, std::move(pipe), size};
  }
};

struct SpawnConfig {
  std::vector<std::string> argv;   // argv[0] is looked up in PATH, unless `file` is set
  std::optional<std::string> file; // the program to execute (with a slash: no PATH search)
  std::optional<std::string> cwd;
  std::optional<std::vector<std::string>> env; // "KEY=VALUE"; unset means inherit ours
  Stdio stdin_;
  Stdio stdout_;
  Stdio stderr_;
  // A new process group led by the child (POSIX_SPAWN_SETPGROUP), so kill_group() reaches
  // what it starts in that group. Not a new session: see the top of this file.
  bool own_group = true;
  // Roots this tree (core/loop/reaper.hpp): the child's environment gets the tree's marker, and
  // the tree then finds every process the child starts, wherever it moves. Not owned: the
  // caller keeps the tree for as long as it wants to control them.
  std::shared_ptr<ProcessTree> tree;
};

// A spawned child. The loop's SIGCHLD watcher holds it until the child has been reaped, and
// keeps the loop running meanwhile, as a libuv process handle would.
class Process : public std::enable_shared_from_this<Process> {
public:
  using ExitCallback = std::function<void(ExitStatus)>;

  // Starts the child. On failure returns e.g. "spawn nosuch: no such file or directory" with
  // libuv's code for the errno: UV_ENOENT when the program is not found (a shell's 127),
  // UV_EACCES when it is found but cannot be executed (126), others (UV_EMFILE...) likewise.
  // On failure no child exists and the Pipes in `options` are left unopened.
  static Result<std::shared_ptr<Process>> spawn(Loop& loop, const SpawnConfig& options, ExitCallback on_exit);

  int pid() const { return m_pid; }
  bool exited() const { return m_exited; }
  // Signals the child alone; UV_ESRCH once it has been reaped.
  int kill(int signum);
  // Signals the child's whole process group (children it started too), also after the child
  // exited: the group outlives its leader while members remain.
  int kill_group(int signum);
  // Stops reporting the exit (the callback is dropped); the child is still reaped.
  void close() { m_on_exit = nullptr; }

  Process(int pid, bool own_group, ExitCallback on_exit)
      : m_pid(pid), m_own_group(own_group), m_on_exit(std::move(on_exit)) {}

private:
  friend class ChildWatch;
  // Called by the loop's watcher once waitpid returned the child's status.
  void reaped(int wait_status);
  // Called by the loop's watcher when waitpid saw the child stopped by SIGTTIN/SIGTTOU.
  void stopped_by_terminal(int signum);

  int m_pid;
  bool m_own_group;
  bool m_exited = false;
  int m_terminal_stop = 0;
  ExitCallback m_on_exit;
};

} // namespace netlab::loop
