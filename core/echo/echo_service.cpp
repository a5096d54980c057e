// Echo with back-pressure: a peer that sends without reading stops being read from once its
// unread echo reaches the bound, and is read again when that drains.
#include "core/echo/echo_service.hpp"

#include <string>
#include <type_traits>

#include "core/tls/tls_stream.hpp"

namespace netlab::echo {

void upper_ascii(char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    char c = data[i];
    if (c >= 'a' && c <= 'z') {
      data[i] = static_cast<char>(c - 'a' + 'A');
    }
  }
}

namespace {

class EchoService : public net::Service {
public:
  EchoService(loop::Loop& loop, EchoServiceConfig options) : m_loop(loop), m_options(std::move(options)) {}

  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    if (!m_options.tls) {
      serve(connection.get(), connection->stream());
      return;
    }
    auto session = tls::Session::server(m_options.tls);
    if (!session) {
      connection->stream().close();
      return;
    }
    auto tls_stream =
        tls::TlsStream::wrap(m_loop, connection->stream_ptr(), std::move(*session), m_options.handshake_timeout);
    net::Connection* conn = connection.get();
    tls_stream->on_handshake([conn] { conn->touch(); });
    serve(conn, *tls_stream);
    tls_stream->start();
  }

private:
  // The same echo over a plain stream or a TLS one.
  template <typename S>
  void serve(net::Connection* conn, S& stream) {
    // Raw pointers are safe: a stream and its Connection outlive the stream's callbacks, which
    // are dropped when it closes (handle.hpp). The state goes with them.
    struct State {
      net::Connection* conn;
      S* stream;
      bool input_ended = false;
    };
    auto state = std::make_shared<State>(State{conn, &stream});
    stream.on_data([this, state](std::string_view data) {
      state->conn->touch();
      if (m_options.upper) {
        // The view is a read buffer, ours until this callback returns.
        upper_ascii(const_cast<char*>(data.data()), data.size());
      }
      if (state->stream->write(data) != 0) {
        state->stream->close();
        return;
      }
      if (m_options.on_echo) {
        m_options.on_echo(data.size());
      }
      if (state->stream->write_queue_size() > m_options.max_buffered) {
        state->stream->read_stop();
      }
    });
    stream.on_drain([state] {
      state->conn->touch();
      if (!state->stream->reading() && !state->input_ended) {
        state->stream->read_start();
      }
    });
    stream.on_end([state] {
      // Half-close: the peer sends no more but may still read. Finish its echo, then close.
      state->input_ended = true;
      auto* s = state->stream;
      if (s->shutdown([s](int) { s->close(); }) != 0) {
        s->close();
      }
    });
    if constexpr (std::is_same_v<S, loop::Stream>) {
      stream.read_start();
    }
  }

  loop::Loop& m_loop;
  EchoServiceConfig m_options;
};

} // namespace

std::unique_ptr<net::Service> make_echo_service(loop::Loop& loop, const EchoServiceConfig& options) {
  return std::make_unique<EchoService>(loop, options);
}

} // namespace netlab::echo
