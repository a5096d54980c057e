// Running one command on an authenticated session and streaming its output as it arrives.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "core/util/result.hpp"

namespace netlab::ssh {

struct ExecRequest {
  std::string command;      // run by the remote user's shell, as ssh does
  bool pty = false;
  int stdin_fd = -1;        // forwarded until EOF; -1 sends EOF at once
  bool raw_terminal = false; // put stdin_fd (a terminal) in raw mode while the command runs
  double timeout = 0;       // seconds; 0: none
  // Another thread may store a signal number here (pool-run's --timeout, Ctrl-C). It reaches the
  // remote command as an SSH "signal" request, or through the watchdog when `supervised`. After
  // KILL the channel is given up on if the server does not close it within a grace period.
  const std::atomic<int>* signal = nullptr;
  // `command` came from supervised_command(): stdin belongs to the watchdog (stdin_fd must be -1).
  bool supervised = false;
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
  int exit_status = -1;  // the remote status; -1 when none came (a signal, a timeout)
  std::string signal;    // "TERM", "KILL"... when the command died of a signal
  bool timed_out = false;
  // What a shell would report: the status, 128+N for a signal, 124 for a timeout, 255 if unknown.
  int exit_code() const;
};

Result<ExecOutcome> run_command(ssh_session session, const ExecRequest& request, const OutputSink& sink);

// "TERM" for SIGTERM and back, for the signals SSH names (RFC 4254 6.10); "" / 0 for others.
const char* signal_name(int number);
int signal_number(const std::string& name);

// Wraps a shell command so that it can be stopped even where the server refuses SSH signal
// requests (OpenSSH does for root logins, which run without privilege separation). A watchdog in
// the remote shell reads signal names as lines on the channel's stdin and sends them to the
// command's process group (sshd makes each session its own group); EOF on stdin sends KILL, so a
// closed or lost connection never leaves the command running. The command gets /dev/null as
// stdin. Needs a POSIX shell as the login shell, as pool-run jobs do anyway.
std::string supervised_command(const std::string& command);

// Joins argv the way ssh does: words separated by one space, left for the remote shell to split.
std::string join_command(const std::vector<std::string>& argv);

// Quotes `text` for a POSIX shell (single quotes), for commands netlab builds itself.
std::string shell_quote(std::string_view text);

} // namespace netlab::ssh
