// Result<T>: a value or an error message, for core code that must not throw across libuv.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "core/util/exit_code.hpp"

namespace netlab {

// The failure half of a Result: a one-line, human-readable message.
struct Failure {
  std::string message;
  // An errno value when the cause matters to the caller (ETIMEDOUT vs ECONNREFUSED), else 0.
  int code = 0;
  // The status the command ends with if this failure ends it (k_exit_*): a whole-command
  // function in core says here whether it was a timeout, a connect failure, bad input...
  int exit_code = k_exit_failure;
};

inline Failure fail(std::string message, int code = 0) { return Failure{std::move(message), code}; }
// A failure that ends the command with `exit_code` (k_exit_timeout, k_exit_connect, ...).
inline Failure fail_exit(int exit_code, std::string message, int code = 0) {
  return Failure{std::move(message), code, exit_code};
}

template <typename T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
  Result(Failure failure) : m_state(std::in_place_index<1>, std::move(failure)) {}

  bool ok() const noexcept { return m_state.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_state);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_state);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_state));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& error() const {
    assert(!ok());
    return std::get<1>(m_state).message;
  }
  int code() const {
    assert(!ok());
    return std::get<1>(m_state).code;
  }
  int exit_code() const {
    assert(!ok());
    return std::get<1>(m_state).exit_code;
  }
  Failure failure() const { return std::get<1>(m_state); }

private:
  std::variant<T, Failure> m_state;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Failure failure) : m_failed(true), m_failure(std::move(failure)) {}

  bool ok() const noexcept { return !m_failed; }
  explicit operator bool() const noexcept { return ok(); }
  const std::string& error() const {
    assert(!ok());
    return m_failure.message;
  }
  int code() const { return m_failure.code; }
  int exit_code() const { return m_failure.exit_code; }
  Failure failure() const { return m_failure; }

private:
  bool m_failed = false;
  Failure m_failure;
};

// Propagates a failed Result from the enclosing function: `NETLAB_TRY(auto x, parse(s));`
#define NETLAB_CONCAT_INNER(a, b) a##b
#define NETLAB_CONCAT(a, b) NETLAB_CONCAT_INNER(a, b)
#define NETLAB_TRY(decl, expr) \
  auto NETLAB_CONCAT(netlab_try_, __LINE__) = (expr); \
  if (!NETLAB_CONCAT(netlab_try_, __LINE__)) { \
    return NETLAB_CONCAT(netlab_try_, __LINE__).failure(); \
  } \
  decl = std::move(NETLAB_CONCAT(netlab_try_, __LINE__)).value()

#define NETLAB_TRY_VOID(expr) \
  do { \
    auto NETLAB_CONCAT(netlab_try_void_, __LINE__) = (expr); \
    if (!NETLAB_CONCAT(netlab_try_void_, __LINE__)) { \
      return NETLAB_CONCAT(netlab_try_void_, __LINE__).failure(); \
    } \
  } while (0)

} // namespace netlab
