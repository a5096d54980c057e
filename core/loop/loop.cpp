// Loop lifetime.
#include "core/loop/loop.hpp"

#include "core/loop/handle.hpp"
#include "core/util/error.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::loop {

Loop::Loop() : m_read_buffer(std::make_unique<char[]>(k_read_buffer_size)) {
  int rc = uv_loop_init(&m_loop);
  if (rc != 0) {
    throw Error(uv_message("event loop", "", rc));
  }
  m_loop.data = this;
}

Loop::~Loop() {
  if (!m_closed) {
    close_all();
  }
}

int Loop::close_all() {
  uv_walk(
      &m_loop,
      [](uv_handle_t* handle, void*) {
        if (uv_is_closing(handle) != 0) {
          return;
        }
        if (auto* wrapper = HandleBase::from(handle)) {
          wrapper->close();
        } else {
          uv_close(handle, nullptr);
        }
      },
      nullptr);
  // Closing may start more work (shutdowns, write callbacks with ECANCELED): run until idle.
  while (uv_run(&m_loop, UV_RUN_DEFAULT) != 0) {
  }
  int rc = uv_loop_close(&m_loop);
  m_closed = rc == 0;
  return rc;
}

void Loop::alloc_shared(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto& self = from(handle->loop);
  *buf = uv_buf_init(self.m_read_buffer.get(), static_cast<unsigned>(k_read_buffer_size));
}

} // namespace netlab::loop
