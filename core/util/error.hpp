// Errors that end a command, each carrying the exit code design.md assigns to it, and the one
// contract between cmd/ and core/: whole-command functions return Result<Outcome> whose failure
// carries its exit code; cmd/ unwraps them with value_or_throw.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/util/exit_code.hpp"
#include "core/util/result.hpp"

namespace netlab {

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
  explicit InterruptedError(const std::string& message = "interrupted") : Error(message, k_exit_interrupted) {}
};

// The failure as the Error main() reports: same message, same exit code.
[[noreturn]] inline void throw_failure(const Failure& failure) { throw Error(failure.message, failure.exit_code); }

// cmd/'s one line per core call: the value of a Result, or its failure thrown with the failure's
// exit code. `return value_or_throw(core::run_x(config));`
template <typename T>
T value_or_throw(Result<T> result) {
  if (!result) {
    throw_failure(result.failure());
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(result).value();
  }
}

// For a Result that checks the user's input (an address, a host list, a CIDR): a failure is a
// usage error (exit 2), whatever it says; `context` ("--ssh") goes before the message.
template <typename T>
T value_or_usage(Result<T> result, std::string_view context = {}) {
  if (!result) {
    throw UsageError(context.empty() ? result.error() : std::string(context) + " " + result.error());
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(result).value();
  }
}

// The other direction, for whole-command functions whose body reports failures by throwing
// (deep call chains in blocking clients): runs `body` and turns a netlab::Error into the Failure
// it stands for, so the function's callers see one shape. Other exceptions pass through.
template <typename Body>
auto catch_failure(Body&& body) -> Result<std::invoke_result_t<Body>> {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Body>>) {
      body();
      return {};
    } else {
      return body();
    }
  } catch (const Error& error) {
    return fail_exit(error.exit_code(), error.what());
  }
}

} // namespace netlab
