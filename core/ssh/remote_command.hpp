// Running one command on an authenticated session and streaming its output as it arrives.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "core/util/duration.hpp"
#include "core/util/exit_status.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

// How the remote command is stopped where the server ignores SSH "signal" requests (OpenSSH's
// sshd refuses them for root logins, whose sessions run without privilege separation) and when
// the connection is lost (sshd leaves a command without a terminal running). See
// supervised_command().
enum class Watchdog {
  none,    // the command as given: signal requests only
  control, // the channel's stdin carries signal names for the watchdog; EOF kills the command
  parent,  // stdin goes to the command; the watchdog kills it once the sshd session is gone
};

struct ExecRequest {
  std::string command; // run by the remote user's shell, as ssh does
  bool pty = false;
  int stdin_fd = -1;         // forwarded until EOF; -1 sends EOF at once
  bool raw_terminal = false; // put stdin_fd (a terminal) in raw mode while the command runs
  Seconds timeout{0};        // 0: none. At the deadline the command is stopped like a TERM
                             // from `signal` (then KILL after the grace) and timed_out is set.
  // Another thread or a signal handler may store a signal number here (pool-run's --timeout,
  // Ctrl-C). It reaches the remote command through the watchdog's control line (Watchdog::control)
  // or as an SSH "signal" request. A stop that has not ended the command after a grace period
  // becomes KILL (EOF for the control watchdog); a KILL the server has not obeyed after another
  // grace period makes run_command give up on the channel, and the caller closing the session
  // then lets the watchdog kill the command.
  const std::atomic<int>* signal = nullptr;
  // `command` came from supervised_command(command, watchdog). With Watchdog::control, stdin
  // belongs to the watchdog (stdin_fd must be -1).
  Watchdog watchdog = Watchdog::none;
  // Set once the exec request went out: from then on the remote may have run the command, so a
  // failure must not be retried elsewhere as if it never started.
  bool* started = nullptr;
};

// Called on the session's thread with each piece of output, in arrival order; binary-safe.
struct OutputSink {
  std::function<void(std::string_view)> out;
  std::function<void(std::string_view)> err;
};

struct ExecOutcome {
  // The remote status when one came, else the signal when the server named one of RFC 4254's,
  // else unknown (no status came, or a signal SSH does not name); timed_out at
  // ExecRequest::timeout. A command given up on after KILL reads as killed by it.
  ExitStatus ending = ExitStatus::unknown();
  int stopped_by = 0; // the signal number read from ExecRequest::signal that stopped it, if any
};

// How a channel says its command ended: `exit_status` (libssh's; -1 when none came) when there
// is one, as ssh(1) has it, else `signal` ("exit-signal", RFC 4254 6.10) when SSH names it, else
// unknown.
ExitStatus channel_ending(int exit_status, const std::string& signal);

Result<ExecOutcome> run_command(ssh_session session, const ExecRequest& request, const OutputSink& sink);

// "TERM" for SIGTERM and back, for the signals SSH names on the wire (RFC 4254 6.10); "" / 0 for
// others. Not loop::signal_name, which names any local signal for messages.
const char* rfc4254_signal_name(int number);
int rfc4254_signal_number(const std::string& name);

// Wraps a shell command so that it can be stopped even where the server refuses SSH signal
// requests, and never outlives its session. The wrapper starts a watchdog in the background of
// the remote shell, in the command's process group (sshd makes each session its own group), and
// runs the command under it:
// - Watchdog::control: the watchdog reads signal names as lines on the channel's stdin and sends
//   them to the group; EOF on stdin (netlab closed it, or the connection is gone) sends KILL. The
//   command gets /dev/null as stdin.
// - Watchdog::parent: the command keeps the channel's stdin; the watchdog checks once a second
//   that the sshd session process (the wrapper's parent) is still there and sends KILL to the
//   group when it is not, so a lost connection or a killed netlab ends the command within about
//   a second. Signals travel as SSH signal requests.
// The watchdog ignores the signals it relays and is stopped when the command ends, so the
// channel closes as usual. Needs a POSIX shell as the login shell.
std::string supervised_command(const std::string& command, Watchdog watchdog = Watchdog::control);

// Joins argv the way ssh does: words separated by one space, left for the remote shell to split.
std::string join_command(const std::vector<std::string>& argv);

// Quotes `text` for a POSIX shell (single quotes), for commands netlab builds itself.
std::string shell_quote(std::string_view text);

} // namespace netlab::ssh
