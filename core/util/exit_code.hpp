// The exit statuses netlab's commands end with.
#pragma once

namespace netlab {

// Exit codes are part of the public interface: shell scripts branch on them. Code that ends a
// command names them through these constants, never as bare numbers.
enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_failure = 1,
  k_exit_usage = 2,
  k_exit_timeout = 124,
  k_exit_cannot_execute = 126, // a program found but not executable, as the shell reports it
  k_exit_not_found = 127,      // a program that could not be started, as the shell reports it
  k_exit_signal_base = 128,    // 128 + N: ended by signal N, as the shell reports it
  k_exit_interrupted = 130,    // 128 + SIGINT
  k_exit_broken_pipe = 141,    // 128 + SIGPIPE: stdout's reader left, as `seq | head` reports
  k_exit_connect = 255,
};

// The shell's status for a command ended by signal `signum`: 128 + N.
constexpr int signal_exit_status(int signum) { return k_exit_signal_base + signum; }

} // namespace netlab
