// Readiness of a plain descriptor on the loop, for code that moves the bytes itself (splice(2)
// between pipes) instead of having libuv read them into a buffer.
#pragma once

#include <functional>
#include <memory>

#include "core/loop/handle.hpp"
#include "core/loop/loop.hpp"
#include "core/util/fd.hpp"

namespace netlab::loop {

class Poll : public Handle<uv_poll_t>, public std::enable_shared_from_this<Poll> {
public:
  // `status` is 0 or a negative libuv error (the descriptor is then unusable); `events` a mask of
  // UV_READABLE, UV_WRITABLE, UV_DISCONNECT.
  using Callback = std::function<void(int status, int events)>;

  // Watches `fd`, which the Poll owns from here: it is closed as soon as close() is called
  // (uv_close stops the watcher and takes the descriptor out of the loop's epoll set at once),
  // not when libuv's close callback runs an iteration later, so a pool that starts the next job
  // in the same iteration does not hold both jobs' pipes. fd() is -1 from then on. Throws
  // netlab::Error "create poll watcher: …" if libuv refuses the descriptor (closed then too).
  static std::shared_ptr<Poll> create(Loop& loop, Fd fd);

  // Level-triggered, as epoll is by default: the callback runs on every loop iteration while the
  // descriptor is ready, so it must consume what made it ready or stop(). Returns a libuv error.
  int start(int events, Callback callback);
  void stop();

  int fd() const { return m_fd.get(); }

  explicit Poll(Fd fd) : m_fd(std::move(fd)) {}

private:
  void clear_callbacks() override { m_callback = nullptr; }
  void on_closing() override { m_fd.reset(); }
  Fd m_fd;
  Callback m_callback;
};

} // namespace netlab::loop
