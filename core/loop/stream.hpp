// Byte streams (TCP sockets, pipes, unix sockets) on the loop, with owned writes and a required
// error path.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/loop/handle.hpp"
#include "core/loop/loop.hpp"

namespace netlab::loop {

class Stream : public HandleBase {
public:
  using DataCallback = std::function<void(std::string_view)>;
  using StatusCallback = std::function<void(int)>;

  // Bytes read; the view points into the loop's shared buffer and is valid only during the call.
  void on_data(DataCallback callback) { m_on_data = std::move(callback); }
  // The peer finished sending (EOF). Without a callback the stream is closed.
  void on_end(std::function<void()> callback) { m_on_end = std::move(callback); }
  // A read or write failed. Without a callback the stream is closed: an error is always handled.
  void on_error(StatusCallback callback) { m_on_error = std::move(callback); }
  // Every queued write has completed; used to resume reading after back-pressure.
  void on_drain(std::function<void()> callback) { m_on_drain = std::move(callback); }

  int read_start();
  void read_stop();
  bool reading() const { return m_reading; }

  // Writes `data`. Bytes the kernel takes at once are not copied; the rest are moved into a
  // request that owns them until its callback. Returns a libuv error code if nothing could be
  // queued (the stream is closing or broken); later failures go to on_error.
  int write(std::string_view data);
  int write(std::string&& data, StatusCallback done = {});
  std::size_t write_queue_size() const { return uv_stream_get_write_queue_size(m_stream); }

  // Half-closes our sending side once queued writes are done.
  int shutdown(StatusCallback done = {});

  int listen(int backlog, StatusCallback on_connection);
  int accept(Stream& client) { return uv_accept(m_stream, client.m_stream); }

  uv_stream_t* uv_stream() const { return m_stream; }

protected:
  explicit Stream(uv_stream_t* stream) : HandleBase(reinterpret_cast<uv_handle_t*>(stream)), m_stream(stream) {}
  void clear_callbacks() override;

private:
  struct WriteRequest;
  static void read_callback(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_callback(uv_write_t* req, int status);
  void report_error(int status);
  int queue_write(std::string&& data, StatusCallback done);

  uv_stream_t* m_stream;
  bool m_reading = false;
  DataCallback m_on_data;
  std::function<void()> m_on_end;
  StatusCallback m_on_error;
  std::function<void()> m_on_drain;
  StatusCallback m_on_connection;
};

} // namespace netlab::loop
