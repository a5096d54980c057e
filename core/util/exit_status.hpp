// How a process or command ended, and the one shell rule that turns that into a status.
#pragma once

#include <cstdint>

#include "core/util/exit_code.hpp"

namespace netlab {

// How a process or command ended: a local child (core/loop/spawn.hpp), a command an exec-server
// ran (the protocol's `exit` frame), a remote command over SSH, a pool job. A value: the
// factories below make each case, and nothing but `timed_out` is meant to change afterwards.
//
// shell_status() is the status a shell reports for it, the one rule every command that reports
// a child's ending uses. In this order, the first that applies wins:
//   1. timed_out: k_exit_timeout (124). A deadline stopped it, so the signal the timeout sent (or
//      the code a command gave on its way out after that signal) is not the news.
//   2. exited with code N: N & 0xff, the low byte, as exit(3) and wait(2) keep it (a peer may
//      report any integer; no process can end with more than a byte).
//   3. killed by signal N, or stopped for using the terminal by signal N (SIGTTIN/SIGTTOU) and
//      killed for it: signal_exit_status(N), 128 + N. A number outside 1..127 is no signal a
//      shell could report, so it reads as unknown.
//   4. unknown (no status came, as when an SSH channel closes without one, or a signal this
//      system cannot name): k_exit_connect (255), as ssh reports it.
struct ExitStatus {
  enum class Kind : std::uint8_t {
    exited,        // `code` is the status it exited with
    signaled,      // `signal` is the signal that killed it
    terminal_stop, // stopped by `signal` (SIGTTIN or SIGTTOU) for using the terminal; killed for it
    unknown,       // no status and no signal is known
  };

  Kind kind = Kind::exited;
  std::int64_t code = 0;  // Kind::exited only; as reported, not yet cut to a byte
  int signal = 0;         // Kind::signaled and Kind::terminal_stop only: the signal number
  bool timed_out = false; // a deadline stopped it; any kind may carry it (rule 1 above)

  static constexpr ExitStatus exited(std::int64_t code) { return {Kind::exited, code, 0, false}; }
  static constexpr ExitStatus signaled(int signum) { return {Kind::signaled, 0, signum, false}; }
  static constexpr ExitStatus stopped_for_terminal(int signum) { return {Kind::terminal_stop, 0, signum, false}; }
  static constexpr ExitStatus unknown() { return {Kind::unknown, 0, 0, false}; }

  // The signal that ended it (killed, or killed after a terminal stop); 0 otherwise.
  constexpr int term_signal() const { return kind == Kind::signaled || kind == Kind::terminal_stop ? signal : 0; }
  // SIGTTIN or SIGTTOU when it was stopped for using the terminal and killed for it; 0 otherwise.
  constexpr int terminal_stop() const { return kind == Kind::terminal_stop ? signal : 0; }
  // Exited with 0 and no deadline stopped it.
  constexpr bool succeeded() const { return !timed_out && kind == Kind::exited && code == 0; }

  // The rule in the comment above; always 0..255.
  constexpr int shell_status() const {
    if (timed_out) {
      return k_exit_timeout;
    }
    switch (kind) {
    case Kind::exited:
      return static_cast<int>(code & 0xff);
    case Kind::signaled:
    case Kind::terminal_stop:
      return signal > 0 && signal < k_exit_signal_base ? signal_exit_status(signal) : k_exit_connect;
    case Kind::unknown:
      break;
    }
    return k_exit_connect;
  }

  friend constexpr bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

} // namespace netlab
