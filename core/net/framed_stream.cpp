// Framed streams: decoding is incremental and lazy, so a paused reader holds at most the frames
// of the one read that was already in flight.
#include "core/net/framed_stream.hpp"

#include <vector>

#include "core/loop/timer.hpp"

namespace netlab::net {

std::shared_ptr<FramedStream> FramedStream::create(std::shared_ptr<loop::Stream> stream, frame::Limits limits,
                                                   Callbacks callbacks) {
  std::shared_ptr<FramedStream> self(new FramedStream(std::move(stream), limits, std::move(callbacks)));
  self->attach();
  return self;
}

FramedStream::~FramedStream() {
  // The stream's callbacks hold only weak references, but a stream nobody drives must not stay
  // open. One being flushed by close_after_flush() closes itself.
  if (!m_closed) {
    m_stream->close();
  }
}

void FramedStream::attach() {
  std::weak_ptr<FramedStream> weak = weak_from_this();
  // Raw: these callbacks live in the stream and are dropped when it closes (handle.hpp).
  auto* stream = m_stream.get();
  m_stream->on_data([weak, stream](std::string_view data) {
    if (auto self = weak.lock()) {
      self->on_bytes(data);
    } else {
      stream->close();
    }
  });
  m_stream->on_end([weak, stream] {
    if (auto self = weak.lock()) {
      self->on_eof();
    } else {
      stream->close();
    }
  });
  m_stream->on_error([weak, stream](int status) {
    auto self = weak.lock();
    if (self && !self->m_closed && self->m_callbacks.on_error) {
      self->m_callbacks.on_error(status);
    } else {
      stream->close();
    }
  });
  m_stream->on_drain([weak] {
    auto self = weak.lock();
    if (self && !self->m_closed && self->m_callbacks.on_drain) {
      self->m_callbacks.on_drain();
    }
  });
}

void FramedStream::on_bytes(std::string_view data) {
  if (m_failed || m_closed) {
    return;
  }
  std::vector<frame::Frame> frames;
  auto fed = m_decoder.feed(data, frames);
  for (auto& frame : frames) {
    m_ready.push_back(std::move(frame));
  }
  if (!fed) {
    m_failed = true;
    m_error = fed.error();
    m_stream->read_stop();
  } else if (m_paused) {
    // A read that was already under way when we paused: keep its frames, take no more.
    m_stream->read_stop();
  }
  deliver();
}

void FramedStream::on_eof() {
  auto finished = m_decoder.finish();
  if (!finished) {
    m_failed = true;
    m_error = finished.error();
  } else {
    m_eof = true;
  }
  deliver();
}

void FramedStream::deliver() {
  if (m_delivering) {
    return; // the outer call's loop picks up whatever a callback changed
  }
  m_delivering = true;
  // A callback may close or pause us, or drop its last reference to us.
  auto keep = shared_from_this();
  while (!m_paused && !m_closed) {
    if (!m_ready.empty()) {
      auto frame = std::move(m_ready.front());
      m_ready.pop_front();
      if (m_callbacks.on_frame) {
        m_callbacks.on_frame(std::move(frame));
      }
      continue;
    }
    if (m_failed) {
      m_paused = true;
      if (m_callbacks.on_protocol_error) {
        m_callbacks.on_protocol_error(m_error);
      } else {
        close();
      }
    } else if (m_eof) {
      m_paused = true;
      if (m_callbacks.on_end) {
        m_callbacks.on_end();
      } else {
        close();
      }
    }
    break;
  }
  m_delivering = false;
}

void FramedStream::resume() {
  if (m_closed || m_failed || m_eof) {
    return;
  }
  m_paused = false;
  deliver();
  if (!m_paused && !m_closed && !m_stream->reading() && !m_stream->is_closing()) {
    if (m_stream->read_start() != 0) {
      close();
    }
  }
}

void FramedStream::pause() {
  m_paused = true;
  m_stream->read_stop();
}

int FramedStream::send(nlohmann::json header, std::string_view body) {
  if (m_closed) {
    return UV_EPIPE;
  }
  std::string bytes;
  frame::encode_to(bytes, std::move(header), body);
  return m_stream->write(std::move(bytes));
}

int FramedStream::send_raw(std::string&& bytes) {
  if (m_closed) {
    return UV_EPIPE;
  }
  return m_stream->write(std::move(bytes));
}

std::size_t FramedStream::write_queue_size() const { return m_stream->is_closing() ? 0 : m_stream->write_queue_size(); }

void FramedStream::close_after_flush(std::uint64_t limit_ms) {
  if (m_closed) {
    return;
  }
  m_closed = true;
  m_paused = true;
  m_stream->read_stop();
  auto stream = m_stream;
  if (stream->shutdown([stream](int) { stream->close(); }) != 0) {
    stream->close();
    return;
  }
  // Owned by its own callback, so it outlives us; unreferenced, so a stopping server does not
  // wait for it.
  auto guard = loop::Timer::create(loop::Loop::from(stream->uv_loop()));
  guard->start(limit_ms, 0, [stream, guard] {
    stream->close();
    guard->close();
  });
  guard->unref();
}

void FramedStream::close() {
  m_closed = true;
  m_paused = true;
  m_stream->close();
}

} // namespace netlab::net
