// Stream reads, writes and shutdown over libuv.
#include "core/loop/stream.hpp"

#include <memory>

namespace netlab::loop {

struct Stream::WriteRequest {
  uv_write_t req{};
  std::string data;
  StatusCallback done;
};

void Stream::clear_callbacks() {
  m_on_data = nullptr;
  m_on_end = nullptr;
  m_on_error = nullptr;
  m_on_drain = nullptr;
  m_on_connection = nullptr;
}

int Stream::read_start() {
  if (is_closing()) {
    return UV_EINVAL;
  }
  int rc = uv_read_start(m_stream, &Loop::alloc_shared, &Stream::read_callback);
  m_reading = rc == 0;
  return rc;
}

void Stream::read_stop() {
  if (!is_closing() && m_reading) {
    uv_read_stop(m_stream);
  }
  m_reading = false;
}

void Stream::read_callback(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Stream*>(HandleBase::from(reinterpret_cast<uv_handle_t*>(stream)));
  if (nread > 0) {
    if (self->m_on_data) {
      self->m_on_data(std::string_view(buf->base, static_cast<std::size_t>(nread)));
    }
  } else if (nread == UV_EOF) {
    self->read_stop();
    if (self->m_on_end) {
      self->m_on_end();
    } else {
      self->close();
    }
  } else if (nread < 0) {
    self->read_stop();
    self->report_error(static_cast<int>(nread));
  }
}

void Stream::report_error(int status) {
  if (is_closing()) {
    return;
  }
  if (m_on_error) {
    m_on_error(status);
  } else {
    close();
  }
}

int Stream::write(std::string_view data) {
  if (is_closing()) {
    return UV_EPIPE;
  }
  if (data.empty()) {
    return 0;
  }
  if (write_queue_size() == 0) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    int written = uv_try_write(m_stream, &buf, 1);
    if (written > 0) {
      data.remove_prefix(static_cast<std::size_t>(written));
      if (data.empty()) {
        return 0;
      }
    }
    // EAGAIN and hard errors alike go through uv_write, which reports the latter to on_error.
  }
  return queue_write(std::string(data), {});
}

int Stream::write(std::string&& data, StatusCallback done) {
  if (is_closing()) {
    return UV_EPIPE;
  }
  if (!done && write_queue_size() == 0 && !data.empty()) {
    uv_buf_t buf = uv_buf_init(data.data(), static_cast<unsigned>(data.size()));
    int written = uv_try_write(m_stream, &buf, 1);
    if (written == static_cast<int>(data.size())) {
      return 0;
    }
    if (written > 0) {
      data.erase(0, static_cast<std::size_t>(written));
    }
  }
  return queue_write(std::move(data), std::move(done));
}

int Stream::queue_write(std::string&& data, StatusCallback done) {
  auto* request = new WriteRequest{};
  request->data = std::move(data);
  request->done = std::move(done);
  request->req.data = request;
  uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  int rc = uv_write(&request->req, m_stream, &buf, 1, &Stream::write_callback);
  if (rc != 0) {
    delete request;
  }
  return rc;
}

void Stream::write_callback(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  auto* self = static_cast<Stream*>(HandleBase::from(reinterpret_cast<uv_handle_t*>(req->handle)));
  if (request->done) {
    request->done(status);
  }
  if (status < 0) {
    // ECANCELED means we are closing already; anything else is the peer's doing.
    if (status != UV_ECANCELED) {
      self->report_error(status);
    }
    return;
  }
  if (self->m_on_drain && !self->is_closing() && self->write_queue_size() == 0) {
    self->m_on_drain();
  }
}

int Stream::shutdown(StatusCallback done) {
  if (is_closing()) {
    return UV_EPIPE;
  }
  struct ShutdownRequest {
    uv_shutdown_t req{};
    StatusCallback done;
  };
  auto* request = new ShutdownRequest{};
  request->done = std::move(done);
  request->req.data = request;
  int rc = uv_shutdown(&request->req, m_stream, [](uv_shutdown_t* req, int status) {
    std::unique_ptr<ShutdownRequest> owned(static_cast<ShutdownRequest*>(req->data));
    if (owned->done) {
      owned->done(status);
    }
  });
  if (rc != 0) {
    delete request;
  }
  return rc;
}

int Stream::listen(int backlog, StatusCallback on_connection) {
  m_on_connection = std::move(on_connection);
  return uv_listen(m_stream, backlog, [](uv_stream_t* server, int status) {
    auto* self = static_cast<Stream*>(HandleBase::from(reinterpret_cast<uv_handle_t*>(server)));
    if (self->m_on_connection) {
      self->m_on_connection(status);
    }
  });
}

} // namespace netlab::loop
