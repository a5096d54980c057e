// Timers, signal watchers and cross-thread wake-ups.
#pragma once

#include <functional>
#include <memory>

#include "core/loop/handle.hpp"
#include "core/loop/loop.hpp"

namespace netlab::loop {

class Timer : public Handle<uv_timer_t>, public std::enable_shared_from_this<Timer> {
public:
  static std::shared_ptr<Timer> create(Loop& loop);

  // Fires after `timeout_ms`, then every `repeat_ms` if that is non-zero.
  void start(std::uint64_t timeout_ms, std::uint64_t repeat_ms, std::function<void()> callback);
  void stop();

private:
  void clear_callbacks() override { m_callback = nullptr; }
  std::function<void()> m_callback;
};

class Signal : public Handle<uv_signal_t>, public std::enable_shared_from_this<Signal> {
public:
  static std::shared_ptr<Signal> create(Loop& loop);

  void start(int signum, std::function<void(int)> callback);
  void stop();

private:
  void clear_callbacks() override { m_callback = nullptr; }
  std::function<void(int)> m_callback;
};

// Wakes a loop from another thread; the callback runs on the loop's thread.
class Async : public Handle<uv_async_t>, public std::enable_shared_from_this<Async> {
public:
  static std::shared_ptr<Async> create(Loop& loop, std::function<void()> callback);
  // Safe from any thread; several sends before the loop wakes run the callback once.
  void send() { uv_async_send(&m_raw); }

private:
  void clear_callbacks() override { m_callback = nullptr; }
  std::function<void()> m_callback;
};

} // namespace netlab::loop
