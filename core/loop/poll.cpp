// The Poll wrapper.
#include "core/loop/poll.hpp"

namespace netlab::loop {

std::shared_ptr<Poll> Poll::create(Loop& loop, Fd fd) {
  int raw_fd = fd.get();
  auto poll = std::make_shared<Poll>(std::move(fd));
  // Not adopted unless libuv took it; a refused descriptor is closed with the wrapper.
  check_init(uv_poll_init(loop.raw(), poll->raw(), raw_fd), "poll watcher");
  poll->adopt(poll);
  return poll;
}

int Poll::start(int events, Callback callback) {
  if (is_closing()) {
    return UV_EINVAL;
  }
  m_callback = std::move(callback);
  return uv_poll_start(&m_raw, events, [](uv_poll_t* handle, int status, int ready) {
    auto* self = static_cast<Poll*>(handle->data);
    if (self->m_callback) {
      // The callback may close this handle; keep the object alive through it.
      auto keep = self->shared_from_this();
      self->m_callback(status, ready);
    }
  });
}

void Poll::stop() {
  if (!is_closing()) {
    uv_poll_stop(&m_raw);
  }
}

} // namespace netlab::loop
