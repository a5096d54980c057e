// Echo with back-pressure: a peer that sends without reading stops being read from once its
// unread echo reaches the bound, and is read again when that drains.
#include "core/echo/echo_service.hpp"

#include <string>

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
  explicit EchoService(EchoOptions options) : m_options(options) {}

  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    // Raw pointers are safe: a stream and its Connection outlive the stream's callbacks, which
    // are dropped when it closes (handle.hpp). The state goes with them.
    struct State {
      net::Connection* conn;
      loop::Stream* stream;
      bool input_ended = false;
    };
    auto state = std::make_shared<State>(State{connection.get(), &connection->stream()});
    auto& stream = connection->stream();
    stream.on_data([this, state](std::string_view data) {
      state->conn->touch();
      if (m_options.upper) {
        // The view is the loop's read buffer, ours until this callback returns.
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
    stream.read_start();
  }

private:
  EchoOptions m_options;
};

} // namespace

std::unique_ptr<net::Service> make_echo_service(const EchoOptions& options) {
  return std::make_unique<EchoService>(options);
}

} // namespace netlab::echo
