// Timer, Signal and Async wrappers.
#include "core/loop/timer.hpp"

#include "core/util/error.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::loop {

std::shared_ptr<Timer> Timer::create(Loop& loop) {
  auto timer = std::make_shared<Timer>();
  // Not adopted unless libuv took it: a failed init leaves nothing registered to close.
  check_init(uv_timer_init(loop.raw(), timer->raw()), "timer");
  timer->adopt(timer);
  return timer;
}

void Timer::start(std::uint64_t timeout_ms, std::uint64_t repeat_ms, std::function<void()> callback) {
  if (is_closing()) {
    return;
  }
  m_callback = std::move(callback);
  uv_timer_start(
      &m_raw,
      [](uv_timer_t* handle) {
        auto* self = static_cast<Timer*>(handle->data);
        if (self->m_callback) {
          // The callback may restart or close this timer; keep the object alive through it.
          auto keep = self->shared_from_this();
          self->m_callback();
        }
      },
      timeout_ms, repeat_ms);
}

void Timer::stop() {
  if (!is_closing()) {
    uv_timer_stop(&m_raw);
  }
}

std::shared_ptr<Signal> Signal::create(Loop& loop) {
  auto signal = std::make_shared<Signal>();
  check_init(uv_signal_init(loop.raw(), signal->raw()), "signal watcher");
  signal->adopt(signal);
  return signal;
}

void Signal::start(int signum, std::function<void(int)> callback) {
  m_callback = std::move(callback);
  int rc = uv_signal_start(
      &m_raw,
      [](uv_signal_t* handle, int number) {
        auto* self = static_cast<Signal*>(handle->data);
        if (self->m_callback) {
          auto keep = self->shared_from_this();
          self->m_callback(number);
        }
      },
      signum);
  if (rc != 0) {
    throw Error(uv_message("watch signal", "", rc));
  }
}

void Signal::stop() {
  if (!is_closing()) {
    uv_signal_stop(&m_raw);
  }
}

std::shared_ptr<Async> Async::create(Loop& loop, std::function<void()> callback) {
  auto async = std::make_shared<Async>();
  async->m_callback = std::move(callback);
  int rc = uv_async_init(loop.raw(), async->raw(), [](uv_async_t* handle) {
    auto* self = static_cast<Async*>(handle->data);
    if (self->m_callback) {
      auto keep = self->shared_from_this();
      self->m_callback();
    }
  });
  check_init(rc, "wake-up");
  async->adopt(async);
  return async;
}

} // namespace netlab::loop
