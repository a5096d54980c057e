// bench's TCP (and TLS) connections: request/response, open loop, stream, connect and handshake.
#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/bench/pattern.hpp"
#include "core/bench/worker.hpp"
#include "core/loop/tcp.hpp"
#include "core/tls/tls_stream.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::bench {
namespace {

// Stream mode keeps this much queued beyond what the kernel took, so the pipe never runs dry.
constexpr std::size_t k_stream_window = 256 * 1024;

struct TcpConnection : ConnectionBase {
  std::shared_ptr<loop::Tcp> tcp;
  // Over TLS: the stream the bytes go through, owned by `tcp`'s callbacks (tls_stream.hpp).
  tls::TlsStream* tls = nullptr;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t connect_started = 0;
  // Open loop: (stream offset where a message ends, when it was scheduled to be sent).
  std::deque<std::pair<std::uint64_t, std::uint64_t>> scheduled;
  std::uint64_t next_due = 0;
  bool connected = false;
};

class TcpWorker final : public ConnectionWorker<TcpConnection> {
public:
  using ConnectionWorker::ConnectionWorker;

private:
  void start() override {
    for (auto& connection : m_connections) {
      start_tcp(*connection);
    }
    if (m_config.rate > 0) {
      // At least 1000 ns (k_max_rate); a tiny rate is capped at k_max_wait, within the integer.
      m_interval_ns = static_cast<std::uint64_t>(std::min(1e9 / m_config.rate, k_max_wait.count() * 1e9));
      // Millisecond timers are libuv's resolution; sends due within a tick go out together, each
      // still timed from its own scheduled moment.
      m_scheduler = loop::Timer::create(m_loop);
      m_scheduler->start(1, 1, [this] { send_scheduled(); });
    }
  }

  void close_connections() override {
    for (auto& connection : m_connections) {
      if (connection->tcp) {
        connection->tcp->close();
      }
    }
    if (m_scheduler) {
      m_scheduler->close();
    }
  }

  void finish() override {
    if (m_config.mode == Mode::stream) {
      m_result.messages = m_result.bytes / m_config.size;
    }
  }

  void start_tcp(TcpConnection& connection) {
    connection.tcp = loop::Tcp::create(m_loop);
    connection.tls = nullptr;
    connection.sent = 0;
    connection.received = 0;
    connection.connected = false;
    connection.connect_started = now_ns();
    auto* c = &connection;
    connection.tcp->on_close([this, c] {
      if ((m_config.mode == Mode::connect || m_config.mode == Mode::handshake) && c->connected && !m_stopping) {
        start_tcp(*c);
      }
    });
    int rc = connection.tcp->connect(m_endpoint, [this, c](int status) { on_connected(*c, status); });
    if (rc != 0) {
      on_connected(connection, rc);
    }
  }

  void on_connected(TcpConnection& connection, int status) {
    if (status == UV_ECANCELED || m_stopping) {
      return;
    }
    if (status != 0) {
      m_connect_refused = m_connect_refused || status == UV_ECONNREFUSED;
      error(connection.index, uv_message("connect", m_endpoint.to_string(), status));
      connection.tcp->close();
      return;
    }
    auto& tcp = *connection.tcp;
    tcp.nodelay(true);
    auto* c = &connection;
    if (m_config.tls) {
      // Counted as connected once the handshake is done: a refused certificate is a failed
      // connection (exit 255 when none succeeds), and connect mode does not retry it.
      start_tls(connection);
      return;
    }
    connection.connected = true;
    ++m_result.connects;
    tcp.on_data([this, c](std::string_view data) { on_data(*c, data); });
    tcp.on_end([this, c] {
      if (!m_stopping) {
        error(c->index, "the server closed the connection");
      }
      c->tcp->close();
    });
    tcp.on_error([this, c](int code) {
      if (!m_stopping) {
        error(c->index, uv_reason(code));
      }
      c->tcp->close();
    });
    tcp.read_start();
    if (m_config.mode == Mode::stream) {
      tcp.on_drain([this, c] { fill(*c); });
    }
    begin(connection);
  }

  // The first bytes: right after connecting, or over TLS once the handshake is done.
  void begin(TcpConnection& connection) {
    if (m_config.mode == Mode::handshake) {
      complete(now_ns() - connection.connect_started);
      // close_notify first over TLS, so the server sees a clean end rather than a reset.
      auto tcp = connection.tcp;
      if (connection.tls == nullptr || connection.tls->shutdown([tcp](int) { tcp->close(); }) != 0) {
        tcp->close();
      }
      return;
    }
    if (m_config.mode == Mode::stream) {
      fill(connection);
    } else if (m_config.rate > 0 && m_config.mode == Mode::rr) {
      connection.next_due = now_ns();
    } else {
      send_message(connection);
    }
  }

  void start_tls(TcpConnection& connection) {
    auto* c = &connection;
    auto session = tls::Session::client(m_config.tls, m_config.address.host, m_config.sni);
    if (!session) {
      error(connection.index, session.error());
      connection.tcp->close();
      return;
    }
    auto stream = tls::TlsStream::wrap(m_loop, connection.tcp, std::move(*session), Seconds(10));
    connection.tls = stream.get();
    stream->on_data([this, c](std::string_view data) { on_data(*c, data); });
    stream->on_end([this, c] {
      if (!m_stopping) {
        error(c->index, "the server closed the connection");
      }
      c->tcp->close();
    });
    stream->on_error([this, c](const std::string& why) {
      if (!m_stopping) {
        error(c->index, why);
      }
    });
    if (m_config.mode == Mode::stream) {
      stream->on_drain([this, c] { fill(*c); });
    }
    stream->on_handshake([this, c] {
      c->connected = true;
      ++m_result.connects;
      if (!m_stopping) {
        begin(*c);
      }
    });
    stream->start();
  }

  void write(TcpConnection& connection, std::string_view data) {
    int rc = connection.tls != nullptr ? connection.tls->write(data) : connection.tcp->write(data);
    if (rc != 0) {
      error(connection.index, uv_message("write", "", rc));
      connection.tcp->close();
    }
  }

  void send_message(TcpConnection& connection) {
    auto data = pattern_slice(connection.base + connection.sent, m_config.size);
    connection.sent_at = now_ns();
    connection.sent += data.size();
    write(connection, data);
  }

  void fill(TcpConnection& connection) {
    while (!m_stopping && !connection.tcp->is_closing() && connection.tcp->write_queue_size() < k_stream_window) {
      auto data = pattern_slice(connection.base + connection.sent, m_config.size);
      connection.sent += data.size();
      write(connection, data);
    }
  }

  void send_scheduled() {
    auto now = now_ns();
    for (auto& connection : m_connections) {
      if (!connection->connected || connection->tcp->is_closing()) {
        continue;
      }
      // Open loop: what fell due is sent now, however late, and timed from when it was due, so
      // a server that stalls shows up as latency instead of as fewer requests.
      while (connection->next_due <= now && connection->sent - connection->received < k_open_loop_backlog_bytes &&
             connection->scheduled.size() < k_open_loop_backlog_messages) {
        auto data = pattern_slice(connection->base + connection->sent, m_config.size);
        connection->sent += data.size();
        connection->scheduled.emplace_back(connection->sent, connection->next_due);
        connection->next_due += m_interval_ns;
        write(*connection, data);
        if (connection->tcp->is_closing()) {
          break;
        }
      }
    }
  }

  void on_data(TcpConnection& connection, std::string_view data) {
    if (m_stopping) {
      return;
    }
    if (connection.received + data.size() > connection.sent) {
      ++m_result.mismatches;
      error(connection.index, fmt::format("the server sent {} bytes more than it was sent",
                                          connection.received + data.size() - connection.sent));
      connection.tcp->close();
      return;
    }
    if (auto at = first_difference(connection.base + connection.received, data)) {
      ++m_result.mismatches;
      error(connection.index,
            fmt::format("echoed byte {} differs: sent 0x{:02x}, got 0x{:02x}", connection.received + *at,
                        pattern_byte(connection.base + connection.received + *at),
                        static_cast<unsigned char>(data[*at])));
      connection.tcp->close();
      return;
    }
    connection.received += data.size();
    m_result.bytes += data.size();
    m_shared.bytes.fetch_add(data.size(), std::memory_order_relaxed);
    auto now = now_ns();
    switch (m_config.mode) {
    case Mode::stream:
    case Mode::handshake: // sends nothing, so any byte was refused above
      break;
    case Mode::connect:
      if (connection.received == connection.sent) {
        complete(now - connection.connect_started);
        connection.tcp->close();
      }
      break;
    case Mode::rr:
      if (m_config.rate > 0) {
        while (!connection.scheduled.empty() && connection.scheduled.front().first <= connection.received) {
          complete(now - connection.scheduled.front().second);
          connection.scheduled.pop_front();
        }
      } else if (connection.received == connection.sent) {
        complete(now - connection.sent_at);
        if (!m_stopping) {
          send_message(connection);
        }
      }
      break;
    }
  }

  std::shared_ptr<loop::Timer> m_scheduler;
  std::uint64_t m_interval_ns = 0;
};

} // namespace

std::unique_ptr<Worker> make_tcp_worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared,
                                        const std::vector<int>& indexes, bool reports_progress) {
  return std::make_unique<TcpWorker>(config, endpoint, shared, indexes, reports_progress);
}

} // namespace netlab::bench
