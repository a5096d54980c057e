// A command's whole process tree: every process it starts stays findable and killable, also one
// that left the command's process group or session (setsid, a double fork, `nohup ... &`).
//
// How (Linux):
//  - Reaper::start makes this process a child subreaper (PR_SET_CHILD_SUBREAPER). A descendant
//    whose parent exits is re-parented to us instead of to init, so everything a command starts
//    stays in our subtree of /proc for as long as it lives, and we reap it when it exits.
//  - A command spawned with SpawnConfig::tree gets NETLAB_TREE=<our pid>.<64 random bits> in its
//    environment, written by the parent before the spawn (no code of ours runs between fork and
//    exec). Every process it starts inherits the entry.
//  - A scan walks our subtree (/proc/PID/task/TID/children, or every /proc/PID/stat where the
//    kernel lacks those files) and attributes each live descendant, first rule that applies:
//      1. its parent is not us: whatever its parent belongs to (ancestry is the kernel's fact);
//      2. it is a child loop::Process spawned: that command's tree; spawned without a tree, it
//         and its subtree are left alone (its owner's business);
//      3. it was re-parented to us: the tree an earlier scan saw it in (same pid and start time),
//         else the tree whose marker /proc/PID/environ carries. An empty or unreadable
//         environment (a process in the middle of execve shows one) is given 20 ms to settle;
//      4. otherwise it is an unowned orphan, and the scan kills it (SIGKILL) with its subtree.
//    Scans run on every ProcessTree call, 20 ms after a SIGCHLD (they also reap the orphans that
//    have exited) and every 500 ms while any tree exists.
//
// Which API to call: Reaper::start(loop) once, then per command `options.tree =
// reaper->new_tree()` before Process::spawn; `tree->signal(SIGTERM)` to ask, `tree->kill()` to
// end it (also once the command exited, for what it left behind); dropping the tree kills what
// is left; `reaper->kill_all()` at shutdown.
//
// Guaranteed, for a process that is alive when a scan runs:
//  - ProcessTree::kill() returns 0 only once no process of the tree is alive (zombies aside):
//    it repeats scan-then-SIGKILL until two scans in a row find nothing, so children forked
//    during a pass are caught by the next one.
//  - A process of a tree that no longer exists (its ProcessTree was destroyed) is killed by the
//    next scan.
//  - Nothing outside our own subtree is ever signalled, whatever marker it carries.
//
// Not guaranteed:
//  - A process that drops or rewrites NETLAB_TREE (env -i, setenv then exec) and whose parent
//    exits before any scan saw it cannot be attributed: it is an unowned orphan, killed at the next
//    scan even if the command that started it is still running.
//  - Processes started outside our subtree on the command's behalf (at, systemd-run, ssh to
//    localhost, a daemon asked over a socket) are out of reach.
//  - If this process is SIGKILLed, descendants go to init (or the next subreaper) and live on.
//  - A process in uninterruptible sleep dies only when it wakes: kill() reports it still alive.
//  - Children this process forks other than through loop::Process (none in netlab) are taken for
//    orphans: with a Reaper started, such a child is killed and reaped by the next scan.
//
// Threads: trees may be used from several loops; one mutex serialises scans and spawns.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/loop/timer.hpp"
#include "core/util/result.hpp"

namespace netlab::loop {

class ProcessTree {
public:
  // Use Reaper::new_tree.
  explicit ProcessTree(std::string marker);
  // Kills whatever is left of the tree and forgets it.
  ~ProcessTree();
  ProcessTree(const ProcessTree&) = delete;
  ProcessTree& operator=(const ProcessTree&) = delete;

  // "NETLAB_TREE=<pid>.<hex>": the environment entry that marks the tree's processes. Process::spawn
  // adds it (replacing any inherited NETLAB_TREE) when SpawnConfig::tree is set.
  std::string env_entry() const;

  // PIDs of the tree's live processes (zombies excluded), the command itself included while it
  // runs.
  std::vector<int> members();
  // Sends `signum` once to every live process of the tree; returns how many were signalled.
  std::size_t signal(int signum);
  // SIGKILL to every process of the tree until none is left; returns how many are still alive
  // after the bounded number of passes (normally 0; see the header comment).
  std::size_t kill();

private:
  friend struct ReaperState;
  std::string m_marker; // the value after "NETLAB_TREE="
};

// Drives the scans of one loop. One per loop that spawns trees; all of them share the trees.
class Reaper : public std::enable_shared_from_this<Reaper> {
public:
  // Makes this process a child subreaper and watches SIGCHLD on `loop` (unreferenced handles:
  // the Reaper never keeps the loop running). Fails only if prctl does.
  static Result<std::shared_ptr<Reaper>> start(Loop& loop);
  ~Reaper();

  // A new, empty tree: put it in SpawnConfig::tree for the command that roots it.
  std::shared_ptr<ProcessTree> new_tree();

  // Scans now: reaps exited orphans, kills unowned ones. Returns the live orphans (processes
  // re-parented to us, attributed to a tree or not).
  std::size_t sweep();
  // For shutdown: SIGKILL to every process of every tree and to every orphan (processes spawned
  // without a tree are left alone). Returns how many are still alive.
  std::size_t kill_all();

  // Stops watching; trees keep working (scans then happen only when they are used).
  void close();

  explicit Reaper(Loop& loop);

private:
  void schedule_soon();

  Loop& m_loop;
  std::shared_ptr<Signal> m_sigchld;
  std::shared_ptr<Timer> m_soon;
  std::shared_ptr<Timer> m_periodic;
  bool m_soon_armed = false;
};

namespace spawn_registry {
// For loop::Process: children it spawns are their loop's to reap (core/loop/spawn.hpp), never
// the Reaper's. Spawning holds this lock from spawn to registration, so no scan can see the
// child unregistered.
std::unique_lock<std::mutex> lock();
// With the lock held: `tree` may be null.
void add(int pid, ProcessTree* tree);
// After the child `pid` has been reaped.
void remove(int pid);
} // namespace spawn_registry

} // namespace netlab::loop
