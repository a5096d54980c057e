// Child processes on the loop, each in its own process group so a whole job can be signalled.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop/handle.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/tcp.hpp"
#include "core/util/result.hpp"

namespace netlab::loop {

class ProcessTree;

// How one of the child's standard descriptors is connected.
struct Stdio {
  enum class Kind { ignore, inherit, pipe };
  Kind kind = Kind::ignore;
  int fd = -1;                 // for inherit: our descriptor the child gets
  std::shared_ptr<Pipe> pipe;  // for pipe: our end, created by the caller with Pipe::create

  static Stdio ignore() { return {}; }
  static Stdio inherit(int fd) { return {Kind::inherit, fd, nullptr}; }
  static Stdio piped(std::shared_ptr<Pipe> pipe) { return {Kind::pipe, -1, std::move(pipe)}; }
};

struct SpawnOptions {
  std::vector<std::string> argv;       // argv[0] is looked up in PATH, unless `file` is set
  std::optional<std::string> file;     // the program to execute (with a slash: no PATH search)
  std::optional<std::string> cwd;
  std::optional<std::vector<std::string>> env; // "KEY=VALUE"; unset means inherit ours
  Stdio stdin_;
  Stdio stdout_;
  Stdio stderr_;
  // A new session and process group (setsid), so kill_group() reaches grandchildren too.
  bool own_group = true;
  // Roots this tree (core/loop/reaper.hpp): the child's environment gets the tree's marker, and
  // the tree then finds every process the child starts, wherever it moves. Not owned: the
  // caller keeps the tree for as long as it wants to control them.
  std::shared_ptr<ProcessTree> tree;
};

struct ExitStatus {
  std::int64_t exit_code = 0;
  int term_signal = 0;
};

class Process : public Handle<uv_process_t>, public std::enable_shared_from_this<Process> {
public:
  using ExitCallback = std::function<void(ExitStatus)>;

  // Starts the child; on failure (no such program, permission) returns libuv's message, e.g.
  // "spawn nosuch: no such file or directory"; the failure's code is libuv's (UV_ENOENT...).
  static Result<std::shared_ptr<Process>> spawn(Loop& loop, const SpawnOptions& options, ExitCallback on_exit);

  int pid() const { return m_raw.pid; }
  bool exited() const { return m_exited; }
  // Signals the child alone.
  int kill(int signum);
  // Signals the child's whole process group (children it started too).
  int kill_group(int signum);

private:
  void clear_callbacks() override { m_on_exit = nullptr; }
  ExitCallback m_on_exit;
  bool m_exited = false;
  bool m_own_group = false;
};

// Name of a signal without "SIG" ("TERM"), or its number as text if unknown.
std::string signal_name(int signum);
// Parses "TERM", "SIGTERM" or "15"; 0 if unknown.
int signal_number(const std::string& name);

} // namespace netlab::loop
