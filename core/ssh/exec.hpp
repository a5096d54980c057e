// Running one command on an authenticated session and streaming its output as it arrives.
#pragma once

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

// Joins argv the way ssh does: words separated by one space, left for the remote shell to split.
std::string join_command(const std::vector<std::string>& argv);

// Quotes `text` for a POSIX shell (single quotes), for commands netlab builds itself.
std::string shell_quote(std::string_view text);

} // namespace netlab::ssh
