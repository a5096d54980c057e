// Errors that end a command, each carrying the exit code design.md assigns to it.
#pragma once

#include <stdexcept>
#include <string>

namespace netlab {

// Exit codes are part of the public interface: shell scripts branch on them.
enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_failure = 1,
  k_exit_usage = 2,
  k_exit_timeout = 124,
  k_exit_interrupted = 130,
  k_exit_broken_pipe = 141, // 128 + SIGPIPE: stdout's reader left, as `seq | head` reports
  k_exit_connect = 255,
};

// Thrown at the cmd/ boundary; main() prints `netlab: CMD: what()` and exits with exit_code().
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message, int exit_code = k_exit_failure)
      : std::runtime_error(message), m_exit_code(exit_code) {}
  int exit_code() const noexcept { return m_exit_code; }

private:
  int m_exit_code;
};

class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(message, k_exit_usage) {}
};

class TimeoutError : public Error {
public:
  explicit TimeoutError(const std::string& message) : Error(message, k_exit_timeout) {}
};

class ConnectError : public Error {
public:
  explicit ConnectError(const std::string& message) : Error(message, k_exit_connect) {}
};

class InterruptedError : public Error {
public:
  explicit InterruptedError(const std::string& message = "interrupted")
      : Error(message, k_exit_interrupted) {}
};

} // namespace netlab
