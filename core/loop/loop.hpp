// The event loop: one uv_loop_t, closed properly.
#pragma once

#include <memory>

#include <uv.h>

namespace netlab::loop {

class Loop {
public:
  Loop();
  // Closes every handle still open, lets their close callbacks run, then closes the loop.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* raw() { return &m_loop; }
  int run(uv_run_mode mode = UV_RUN_DEFAULT) { return uv_run(&m_loop, mode); }
  void stop() { uv_stop(&m_loop); }
  std::uint64_t now() const { return uv_now(&m_loop); }

  // Closes every open handle, runs the loop until all close callbacks have fired and returns
  // uv_loop_close()'s result: 0 when nothing leaked. Tests assert on it.
  int close_all();

  // One read buffer serves every stream on the loop: libuv asks for a buffer right before each
  // read and hands it to that stream's read callback at once, and a loop runs one callback at a
  // time. Readers that keep bytes copy them out. This keeps an idle connection free of buffers.
  static void alloc_shared(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);

  static Loop& from(uv_loop_t* loop) { return *static_cast<Loop*>(loop->data); }

private:
  static constexpr std::size_t k_read_buffer_size = 64 * 1024;

  uv_loop_t m_loop{};
  std::unique_ptr<char[]> m_read_buffer;
  bool m_closed = false;
};

} // namespace netlab::loop
