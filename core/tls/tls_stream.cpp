// TlsStream: pumps ciphertext between a transport stream and a Session.
#include "core/tls/tls_stream.hpp"

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::tls {

std::shared_ptr<TlsStream> TlsStream::wrap(loop::Loop& loop, std::shared_ptr<loop::Stream> transport,
                                           std::unique_ptr<Session> session, Seconds handshake_timeout) {
  std::shared_ptr<TlsStream> self(new TlsStream(std::move(transport), std::move(session)));
  auto& t = *self->m_transport;
  // These callbacks own the TlsStream until the transport closes (handle.hpp).
  t.on_data([self](std::string_view cipher) { self->received(cipher); });
  t.on_end([self] { self->ended(); });
  t.on_error([self](int status) { self->fail(uv_message("connection", "", status)); });
  t.on_drain([self] {
    if (self->m_on_drain) {
      self->m_on_drain();
    }
  });
  if (handshake_timeout > Seconds::zero()) {
    self->m_deadline = loop::Timer::create(loop);
    self->m_deadline->unref();
    std::weak_ptr<TlsStream> weak = self;
    self->m_deadline->start(timer_ms(handshake_timeout), 0, [weak, handshake_timeout] {
      if (auto stream = weak.lock(); stream && !stream->m_session->handshake_done()) {
        stream->fail(fmt::format("TLS handshake not finished within {}s", handshake_timeout.count()));
      }
    });
  }
  return self;
}

TlsStream::~TlsStream() {
  if (m_deadline) {
    m_deadline->close();
  }
  if (auto gone = std::move(m_on_gone)) {
    gone();
  }
}

int TlsStream::start() {
  if (auto started = m_session->start(); !started) {
    fail(started.error());
    return UV_EPROTO;
  }
  int rc = flush();
  if (rc != 0) {
    return rc;
  }
  return read_start();
}

int TlsStream::read_start() { return m_transport->read_start(); }

void TlsStream::read_stop() { m_transport->read_stop(); }

int TlsStream::flush() {
  if (m_session->output_size() == 0) {
    return 0;
  }
  // The kernel usually takes it all at once; only a remainder is copied (loop::Stream::write).
  int rc = m_transport->write(m_session->output_view());
  m_session->consume_output();
  return rc;
}

void TlsStream::received(std::string_view cipher) {
  auto fed = m_session->feed(cipher, m_plain);
  // Whatever the session produced (handshake messages, an alert) goes out first.
  flush();
  if (!fed) {
    m_plain.clear();
    fail(fed.error());
    return;
  }
  if (m_session->handshake_done() && !m_was_done) {
    m_was_done = true;
    if (m_deadline) {
      m_deadline->close();
      m_deadline.reset();
    }
    if (m_on_handshake) {
      m_on_handshake();
    }
  }
  if (!m_plain.empty()) {
    // Swap out first: whatever the callback does must not disturb this buffer. Swap back after,
    // cleared, so the next read decrypts into memory already allocated (a moved-from string would
    // grow again from nothing, copying at every doubling).
    std::string plain;
    plain.swap(m_plain);
    if (m_on_data) {
      m_on_data(plain);
    }
    if (m_plain.empty()) {
      plain.clear();
      m_plain.swap(plain);
    }
  }
  if (m_session->peer_closed() && !m_ended) {
    m_ended = true;
    read_stop();
    if (m_on_end) {
      m_on_end();
    } else {
      close();
    }
  }
}

void TlsStream::ended() {
  if (m_ended) {
    return;
  }
  auto eof = m_session->feed_eof();
  if (!m_session->handshake_done()) {
    fail(eof ? std::string("TLS handshake: the peer closed the connection") : eof.error());
    return;
  }
  m_ended = true;
  if (m_on_end) {
    m_on_end();
  } else {
    close();
  }
}

void TlsStream::fail(const std::string& why) {
  if (m_transport->is_closing()) {
    return;
  }
  if (m_on_error) {
    m_on_error(why);
  }
  // Let a queued alert reach the peer, then close; a transport that cannot even shut down closes now.
  auto transport = m_transport;
  if (transport->shutdown([transport](int) { transport->close(); }) != 0) {
    transport->close();
  }
  transport->read_stop();
}

int TlsStream::write(std::string_view plain) {
  if (m_transport->is_closing()) {
    return UV_EPIPE;
  }
  if (auto written = m_session->write(plain); !written) {
    fail(written.error());
    return UV_EPROTO;
  }
  return flush();
}

int TlsStream::shutdown(loop::Stream::StatusCallback done) {
  if (m_transport->is_closing()) {
    return UV_EPIPE;
  }
  m_session->close_notify();
  flush();
  return m_transport->shutdown(std::move(done));
}

void TlsStream::close() { m_transport->close(); }

} // namespace netlab::tls
