// TLS over a loop::Stream: the transport carries ciphertext, the user of a TlsStream sees
// plaintext with the same shape of callbacks as loop::Stream (data, end, error, drain).
//
// Ownership follows core/loop/handle.hpp: a TlsStream is held by its transport's callbacks, so it
// lives exactly as long as the transport is open, and the cycle (it holds the transport) breaks
// when the transport closes and drops its callbacks. Callers keep raw pointers or weak_ptrs.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop/loop.hpp"
#include "core/loop/stream.hpp"
#include "core/loop/timer.hpp"
#include "core/tls/session.hpp"
#include "core/util/duration.hpp"

namespace netlab::tls {

class TlsStream : public std::enable_shared_from_this<TlsStream> {
public:
  using DataCallback = std::function<void(std::string_view)>;
  using ErrorCallback = std::function<void(const std::string&)>;

  // Takes over `transport`'s callbacks. The handshake must finish within `handshake_timeout`
  // (0 = no limit), else the error callback runs and the transport closes: a stranger cannot
  // hold a connection open in the handshake. Call start() once the callbacks are set.
  static std::shared_ptr<TlsStream> wrap(loop::Loop& loop, std::shared_ptr<loop::Stream> transport,
                                         std::unique_ptr<Session> session, Seconds handshake_timeout);
  ~TlsStream();

  // The handshake completed (the peer is verified when the context verifies).
  void on_handshake(std::function<void()> callback) { m_on_handshake = std::move(callback); }
  // Decrypted bytes; the view is valid only during the call and may be modified in place.
  void on_data(DataCallback callback) { m_on_data = std::move(callback); }
  // The peer sent close_notify, or (see session().peer_closed()) the transport ended without it.
  void on_end(std::function<void()> callback) { m_on_end = std::move(callback); }
  // A TLS or transport failure, in one line. The transport is closed right after the callback.
  void on_error(ErrorCallback callback) { m_on_error = std::move(callback); }
  void on_drain(std::function<void()> callback) { m_on_drain = std::move(callback); }
  // The transport has closed and this object is going away (runs from the destructor): for
  // whoever must close something of their own with it.
  void on_gone(std::function<void()> callback) { m_on_gone = std::move(callback); }

  // Starts reading (and, for a client, sends the ClientHello). Returns a libuv error code.
  int start();
  int read_start();
  void read_stop();
  bool reading() const { return m_transport->reading(); }

  // Encrypts and queues `plain`; 0 or a libuv error code (the stream is closing or failed).
  int write(std::string_view plain);
  // Ciphertext the transport has not sent yet.
  std::size_t write_queue_size() const { return m_transport->write_queue_size(); }
  // Sends close_notify, then half-closes the transport once everything queued has gone.
  int shutdown(loop::Stream::StatusCallback done = {});
  void close();

  Session& session() { return *m_session; }
  loop::Stream& transport() { return *m_transport; }

private:
  TlsStream(std::shared_ptr<loop::Stream> transport, std::unique_ptr<Session> session)
      : m_transport(std::move(transport)), m_session(std::move(session)) {}
  void received(std::string_view cipher);
  void ended();
  void fail(const std::string& why);
  int flush();

  std::shared_ptr<loop::Stream> m_transport;
  std::unique_ptr<Session> m_session;
  std::shared_ptr<loop::Timer> m_deadline;
  std::string m_plain;
  bool m_was_done = false;
  bool m_ended = false;
  std::function<void()> m_on_handshake;
  DataCallback m_on_data;
  std::function<void()> m_on_end;
  ErrorCallback m_on_error;
  std::function<void()> m_on_drain;
  std::function<void()> m_on_gone;
};

} // namespace netlab::tls
