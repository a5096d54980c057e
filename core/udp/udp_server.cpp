// UDP echo on one libuv loop, reading with recvmmsg batches.
#include "core/udp/udp_server.hpp"

#include <netinet/in.h>

#include <csignal>
#include <cstring>

#include "core/echo/echo_service.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/process.hpp"
#include "core/loop/timer.hpp"
#include "core/loop/udp.hpp"
#include "core/udp/loop_guard.hpp"
#include "core/util/error.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::udp {
namespace {

// Datagram trouble comes from peers; one log line per second at most keeps a flood from
// becoming a flood of log lines.
class RateLimitedLog {
public:
  explicit RateLimitedLog(loop::Loop& loop) : m_loop(loop) {}
  void note(const std::string& text) {
    ++m_suppressed;
    if (m_logged_at == 0 || m_loop.now() - m_logged_at >= 1000) {
      log::info("{}{}", text, m_suppressed > 1 ? fmt::format(" ({} such since last report)", m_suppressed) : "");
      m_logged_at = m_loop.now() == 0 ? 1 : m_loop.now();
      m_suppressed = 0;
    }
  }

private:
  loop::Loop& m_loop;
  std::uint64_t m_logged_at = 0;
  std::uint64_t m_suppressed = 0;
};

// libuv's batched receive keeps senders in sockaddr_in6 slots, so copying a whole
// sockaddr_storage from one would read past it.
std::string sender_text(const sockaddr* from) {
  socklen_t length = from->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  return loop::endpoint_from(from, length).to_string();
}

} // namespace

Result<ServerCounters> run_udp_server(const UdpServerConfig& config) {
  fs::PortFile port_file(config.port_file);
  NETLAB_TRY(auto endpoints, net::resolve(config.address, SOCK_DGRAM));
  const auto& endpoint = endpoints.front();
  ServerCounters counters;
  loop::Loop loop;
  // Udp::create reports a socket it cannot open (out of descriptors, a family UDP has not) by
  // throwing; the failure leaves here as the Result, like every other one.
  NETLAB_TRY(auto socket, catch_failure([&] { return loop::Udp::create(loop, endpoint.family(), true); }));
  if (int rc = socket->bind(endpoint); rc != 0) {
    socket->close();
    loop.close_all();
    return fail(uv_message("bind", config.address.to_string(), rc));
  }
  auto bound = socket->local_endpoint();
  RateLimitedLog trouble(loop);
  // A separate budget: a refused flood must not hide other trouble, nor the other way round.
  RateLimitedLog refusals(loop);
  net::AccessGate gate(config.access);
  // Answering these would make the server talk to itself (protocol.md §5 has no end to an echo):
  // one spoofed datagram would cost a core forever. See loop_guard.hpp.
  RateLimitedLog loops(loop);
  EchoLoopBreaker breaker;
  auto local = local_addresses();
  std::uint64_t local_read_at = loop.now();
  auto* udp = socket.get();
  int rc = socket->recv_start([&, udp](std::string_view data, const sockaddr* from, bool truncated) {
    if (gate.active()) {
      if (auto why = gate.refusal(from)) {
        ++counters.refused;
        refusals.note(fmt::format("dropped a datagram from {}: {}", sender_text(from), *why));
        return;
      }
    }
    auto why = loop_refusal(from, bound, local);
    if (!why && port_of(from) == bound.port() && loop.now() - local_read_at >= 1000) {
      // Interfaces come and go: a port match from an address not seen yet gets one fresh look.
      local = local_addresses();
      local_read_at = loop.now();
      why = loop_refusal(from, bound, local);
    }
    if (why) {
      ++counters.looping;
      loops.note(fmt::format("dropped a datagram from {}: {}", sender_text(from), *why));
      return;
    }
    if (truncated) {
      ++counters.truncated;
      trouble.note(fmt::format("dropped a datagram from {} larger than {} bytes", sender_text(from),
                               loop::Udp::k_receive_limit));
      return;
    }
    if (breaker.should_drop(from, data)) {
      ++counters.looping;
      loops.note(fmt::format("dropped a datagram from {}: it keeps sending back our answers (another echo "
                             "service?); dropping one ends the loop",
                             sender_text(from)));
      return;
    }
    ++counters.datagrams;
    counters.bytes += data.size();
    if (config.upper) {
      // The view is this socket's receive buffer, ours until the callback returns.
      echo::upper_ascii(const_cast<char*>(data.data()), data.size());
    }
    breaker.answered(from, data);
    if (int sent = udp->send(data, from); sent != 0) {
      ++counters.send_errors;
      trouble.note(uv_message("send to", sender_text(from), sent));
    }
  });
  if (rc != 0) {
    loop.close_all();
    return fail(uv_message("receive on", bound.to_string(), rc));
  }
  // A peer's ICMP errors (port unreachable after it left) are its business, not a reason to stop.
  socket->on_error([&](int status) { trouble.note(uv_message("receive", "", status)); });

  // Signals are watched before the address is announced: a script may stop us right after.
  std::vector<std::shared_ptr<loop::Signal>> signals;
  for (int signum : {SIGINT, SIGTERM, SIGHUP}) {
    auto watcher = loop::Signal::create(loop);
    watcher->start(signum, [&](int number) {
      log::info("SIG{} received, shutting down", loop::signal_name(number));
      for (auto& signal : signals) {
        signal->close();
      }
      udp->close();
    });
    signals.push_back(watcher);
  }

  // The port file first: a script that saw `listening on` can read it at once.
  if (!config.port_file.empty()) {
    if (auto written = port_file.write(std::to_string(bound.port())); !written) {
      loop.close_all();
      return written.failure();
    }
  }
  log::info("listening on {}", bound.to_string());
  loop.run();
  loop.close_all();
  if (counters.refused > 0) {
    // The rate-limited lines may have skipped some; the total is the figure to trust.
    log::info("dropped {} datagram(s) from refused peers in all", counters.refused);
  }
  if (counters.looping > 0) {
    log::info("dropped {} datagram(s) whose echo would have come back to this server in all", counters.looping);
  }
  return counters;
}

} // namespace netlab::udp
