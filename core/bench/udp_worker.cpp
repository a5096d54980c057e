// bench's UDP connections: stop-and-wait per socket. Each datagram carries a sequence number, so
// an answer arriving after its datagram was counted lost is recognised as late, not as corruption.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/bench/pattern.hpp"
#include "core/bench/worker.hpp"
#include "core/loop/udp.hpp"
#include "core/util/error.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::bench {
namespace {

struct UdpConnection : ConnectionBase {
  std::shared_ptr<loop::Udp> udp;
  // The sequence number of the datagram awaiting its answer.
  std::uint64_t sequence = 0;
  bool waiting = false;
  std::string datagram;
};

class UdpWorker final : public ConnectionWorker<UdpConnection> {
public:
  using ConnectionWorker::ConnectionWorker;

private:
  void start() override {
    for (auto& connection : m_connections) {
      start_udp(*connection);
    }
  }

  void close_connections() override {
    for (auto& connection : m_connections) {
      if (connection->udp) {
        connection->udp->close();
      }
    }
  }

  void on_tick(std::uint64_t now) override {
    // Capped, as every duration a user gives: past k_max_wait the conversion would overflow.
    auto timeout = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::min(m_config.udp_timeout, k_max_wait)).count());
    for (auto& connection : m_connections) {
      if (connection->waiting && now - connection->sent_at > timeout) {
        ++m_result.lost;
        send_datagram(*connection);
      }
    }
  }

  void start_udp(UdpConnection& connection) {
    try {
      connection.udp = loop::Udp::create(m_loop, m_endpoint.family());
    } catch (const Error& e) {
      // Out of descriptors: a counted error, not an exception through libuv's callback.
      error(connection.index, e.what());
      return;
    }
    auto* c = &connection;
    if (int rc = connection.udp->connect(m_endpoint); rc != 0) {
      error(connection.index, uv_message("connect", m_endpoint.to_string(), rc));
      connection.udp->close();
      return;
    }
    connection.udp->on_error([this, c](int status) {
      if (status == UV_ECONNREFUSED) {
        // Nothing listens there (ICMP port unreachable); the datagram counts as lost at its timeout.
        m_connect_refused = true;
        if (m_result.first_error.empty()) {
          error(c->index, uv_message("send to", m_endpoint.to_string(), status));
        }
        return;
      }
      error(c->index, uv_reason(status));
    });
    connection.udp->recv_start(
        [this, c](std::string_view data, const sockaddr*, bool truncated) { on_datagram(*c, data, truncated); });
    ++m_result.connects;
    send_datagram(connection);
  }

  void send_datagram(UdpConnection& connection) {
    if (m_stopping) {
      return;
    }
    ++connection.sequence;
    make_datagram(connection.datagram, connection.base, connection.sequence, m_config.size);
    connection.sent_at = now_ns();
    connection.waiting = true;
    if (int rc = connection.udp->send(connection.datagram, nullptr); rc != 0 && rc != UV_ECONNREFUSED) {
      error(connection.index, uv_message("send", "", rc));
    }
  }

  void on_datagram(UdpConnection& connection, std::string_view data, bool truncated) {
    if (m_stopping) {
      return;
    }
    std::uint64_t sequence = 0;
    if (!truncated && data.size() == m_config.size) {
      sequence = *datagram_sequence(data); // the size is at least 8
      if (sequence < connection.sequence) {
        ++m_result.late;
        return;
      }
    }
    if (truncated || data.size() != m_config.size || sequence != connection.sequence ||
        data.substr(8) != std::string_view(connection.datagram).substr(8)) {
      ++m_result.mismatches;
      error(connection.index, fmt::format("datagram {}: the answer ({} bytes) differs from what was sent ({} bytes)",
                                          connection.sequence, data.size(), m_config.size));
      send_datagram(connection);
      return;
    }
    connection.waiting = false;
    m_result.bytes += data.size();
    m_shared.bytes.fetch_add(data.size(), std::memory_order_relaxed);
    complete(now_ns() - connection.sent_at);
    send_datagram(connection);
  }
};

} // namespace

std::unique_ptr<Worker> make_udp_worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared,
                                        const std::vector<int>& indexes, bool reports_progress) {
  return std::make_unique<UdpWorker>(config, endpoint, shared, indexes, reports_progress);
}

} // namespace netlab::bench
