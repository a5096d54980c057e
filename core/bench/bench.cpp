// The load generator. Every connection sends slices of one fixed pseudo-random pattern, starting
// at its own offset, so the byte expected at any stream offset is known without keeping a copy
// of what was sent: verification costs one memcmp per read.
#include "core/bench/bench.hpp"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/loop/loop.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/loop/udp.hpp"
#include "core/tls/tls_stream.hpp"

namespace netlab::bench {
namespace {

constexpr std::size_t k_pattern = k_max_size;
// Stream mode keeps this much queued beyond what the kernel took, so the pipe never runs dry.
constexpr std::size_t k_stream_window = 256 * 1024;
constexpr std::uint64_t k_tick_ms = 10;

// The pattern twice over, so a slice of up to k_pattern bytes at any offset is contiguous.
const std::string& doubled_pattern() {
  static const std::string pattern = [] {
    std::string bytes(2 * k_pattern, '\0');
    std::mt19937_64 random(0x6e65746c6162ULL); // fixed: runs are reproducible
    for (std::size_t i = 0; i < k_pattern; i += 8) {
      std::uint64_t word = random();
      std::memcpy(bytes.data() + i, &word, 8);
    }
    std::memcpy(bytes.data() + k_pattern, bytes.data(), k_pattern);
    return bytes;
  }();
  return pattern;
}

std::string_view slice(std::uint64_t offset, std::size_t length) {
  return std::string_view(doubled_pattern()).substr(offset % k_pattern, length);
}

std::uint64_t now_ns() { return uv_hrtime(); }

// Set from a signal handler (lock-free atomics are async-signal-safe); the workers' ticks see it.
std::atomic<int> g_interrupted{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_interrupt(int signum) { g_interrupted.store(signum); }

struct Shared {
  std::atomic<int> interrupt_signal{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<bool> stop{false};
};

class Worker {
public:
  Worker(const BenchConfig& config, const loop::Endpoint& endpoint, Shared& shared, std::vector<int> indexes,
         bool reports_progress)
      : m_config(config), m_endpoint(endpoint), m_shared(shared), m_reports_progress(reports_progress) {
    for (int index : indexes) {
      auto connection = std::make_unique<Connection>();
      connection->index = index;
      // Spread the connections over the pattern, so two streams mixed up would not verify.
      connection->base = static_cast<std::uint64_t>(index) * 104729;
      m_connections.push_back(std::move(connection));
    }
  }

  void run() {
    m_start = now_ns();
    for (auto& connection : m_connections) {
      if (m_config.udp) {
        start_udp(*connection);
      } else {
        start_tcp(*connection);
      }
    }
    m_deadline = loop::Timer::create(m_loop);
    m_deadline->start(static_cast<std::uint64_t>(m_config.duration * 1000), 0, [this] { stop(); });
    m_tick = loop::Timer::create(m_loop);
    m_tick->start(k_tick_ms, k_tick_ms, [this] { tick(); });
    if (m_config.rate > 0) {
      m_interval_ns = static_cast<std::uint64_t>(1e9 / m_config.rate);
      // Millisecond timers are libuv's resolution; sends due within a tick go out together, each
      // still timed from its own scheduled moment.
      m_scheduler = loop::Timer::create(m_loop);
      m_scheduler->start(1, 1, [this] { send_scheduled(); });
    }
    m_loop.run();
    if (m_end == 0) {
      m_end = now_ns();
    }
    m_loop.close_all();
    m_result.elapsed = static_cast<double>(m_end - m_start) / 1e9;
    if (m_config.mode == Mode::stream && !m_config.udp) {
      m_result.messages = m_result.bytes / m_config.size;
    }
  }

  BenchResult& result() { return m_result; }
  bool connect_refused() const { return m_connect_refused; }

private:
  struct Connection {
    int index = 0;
    std::uint64_t base = 0;
    std::shared_ptr<loop::Tcp> tcp;
    // Over TLS: the stream the bytes go through, owned by `tcp`'s callbacks (tls_stream.hpp).
    tls::TlsStream* tls = nullptr;
    std::shared_ptr<loop::Udp> udp;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t sent_at = 0;
    std::uint64_t connect_started = 0;
    // Open loop: (stream offset where a message ends, when it was scheduled to be sent).
    std::deque<std::pair<std::uint64_t, std::uint64_t>> scheduled;
    std::uint64_t next_due = 0;
    bool connected = false;
    // UDP: the sequence number of the datagram awaiting its answer.
    std::uint64_t sequence = 0;
    bool waiting = false;
    std::string datagram;
  };

  void error(Connection& connection, const std::string& what) {
    ++m_result.errors;
    if (m_result.first_error.empty()) {
      m_result.first_error = fmt::format("connection {}: {}", connection.index, what);
    }
  }

  void complete(std::uint64_t latency_ns) {
    ++m_result.messages;
    m_result.latency.record(latency_ns);
    auto total = m_shared.messages.fetch_add(1, std::memory_order_relaxed) + 1;
    if (m_config.max_messages != 0 && total >= m_config.max_messages) {
      m_shared.stop.store(true);
      stop();
    }
  }

  void stop() {
    if (m_stopping) {
      return;
    }
    m_stopping = true;
    m_end = now_ns();
    for (auto& connection : m_connections) {
      if (connection->tcp) {
        connection->tcp->close();
      }
      if (connection->udp) {
        connection->udp->close();
      }
    }
    for (auto* timer : {m_deadline.get(), m_tick.get(), m_scheduler.get()}) {
      if (timer != nullptr) {
        timer->close();
      }
    }
  }

  void tick() {
    if (int signum = g_interrupted.load(); signum != 0) {
      m_shared.interrupt_signal.store(signum);
      m_shared.stop.store(true);
    }
    if (m_shared.stop.load()) {
      stop();
      return;
    }
    auto now = now_ns();
    if (m_config.udp) {
      auto timeout = static_cast<std::uint64_t>(m_config.udp_timeout * 1e9);
      for (auto& connection : m_connections) {
        if (connection->waiting && now - connection->sent_at > timeout) {
          ++m_result.lost;
          send_datagram(*connection);
        }
      }
    }
    if (m_reports_progress && now - m_progress_at >= 1'000'000'000) {
      m_progress_at = now;
      double elapsed = static_cast<double>(now - m_start) / 1e9;
      auto messages = m_shared.messages.load();
      auto bytes = m_shared.bytes.load();
      if (m_config.mode == Mode::stream && !m_config.udp) {
        // Streaming counts bytes, not round trips.
        fmt::print(stderr, "\r{:.0f} s: {:.1f} MB echoed ({:.1f} MB/s)\x1b[K", elapsed,
                   static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / 1e6 / elapsed);
      } else {
        fmt::print(stderr, "\r{:.0f} s: {} msgs ({:.0f}/s), {:.1f} MB echoed\x1b[K", elapsed, messages,
                   static_cast<double>(messages) / elapsed, static_cast<double>(bytes) / 1e6);
      }
      std::fflush(stderr);
    }
  }

  // TCP.

  void start_tcp(Connection& connection) {
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

  void on_connected(Connection& connection, int status) {
    if (status == UV_ECANCELED || m_stopping) {
      return;
    }
    if (status != 0) {
      m_connect_refused = m_connect_refused || status == UV_ECONNREFUSED;
      error(connection, fmt::format("connect {}: {}", m_endpoint.to_string(), uv_strerror(status)));
      ++m_connect_failures;
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
    tcp.on_data([this, c](std::string_view data) { on_tcp_data(*c, data); });
    tcp.on_end([this, c] {
      if (!m_stopping) {
        error(*c, "the server closed the connection");
      }
      c->tcp->close();
    });
    tcp.on_error([this, c](int code) {
      if (!m_stopping) {
        error(*c, uv_strerror(code));
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
  void begin(Connection& connection) {
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

  void start_tls(Connection& connection) {
    auto* c = &connection;
    auto session = tls::Session::client(m_config.tls, m_config.address.host, m_config.sni);
    if (!session) {
      error(connection, session.error());
      connection.tcp->close();
      return;
    }
    auto stream = tls::TlsStream::wrap(m_loop, connection.tcp, std::move(*session), 10);
    connection.tls = stream.get();
    stream->on_data([this, c](std::string_view data) { on_tcp_data(*c, data); });
    stream->on_end([this, c] {
      if (!m_stopping) {
        error(*c, "the server closed the connection");
      }
      c->tcp->close();
    });
    stream->on_error([this, c](const std::string& why) {
      if (!m_stopping) {
        error(*c, why);
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

  void write(Connection& connection, std::string_view data) {
    int rc = connection.tls != nullptr ? connection.tls->write(data) : connection.tcp->write(data);
    if (rc != 0) {
      error(connection, fmt::format("write: {}", uv_strerror(rc)));
      connection.tcp->close();
    }
  }

  void send_message(Connection& connection) {
    auto data = slice(connection.base + connection.sent, m_config.size);
    connection.sent_at = now_ns();
    connection.sent += data.size();
    write(connection, data);
  }

  void fill(Connection& connection) {
    while (!m_stopping && !connection.tcp->is_closing() && connection.tcp->write_queue_size() < k_stream_window) {
      auto data = slice(connection.base + connection.sent, m_config.size);
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
      while (connection->next_due <= now) {
        auto data = slice(connection->base + connection->sent, m_config.size);
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

  void on_tcp_data(Connection& connection, std::string_view data) {
    if (m_stopping) {
      return;
    }
    if (connection.received + data.size() > connection.sent) {
      ++m_result.mismatches;
      error(connection, fmt::format("the server sent {} bytes more than it was sent",
                                    connection.received + data.size() - connection.sent));
      connection.tcp->close();
      return;
    }
    auto expected = slice(connection.base + connection.received, data.size());
    if (std::memcmp(expected.data(), data.data(), data.size()) != 0) {
      std::size_t at = 0;
      while (expected[at] == data[at]) {
        ++at;
      }
      ++m_result.mismatches;
      error(connection, fmt::format("echoed byte {} differs: sent 0x{:02x}, got 0x{:02x}", connection.received + at,
                                    static_cast<unsigned char>(expected[at]), static_cast<unsigned char>(data[at])));
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

  // UDP: stop-and-wait per socket; the first 8 bytes carry a sequence number so that an answer
  // arriving after its datagram was counted lost is recognised as late, not as corruption.

  void start_udp(Connection& connection) {
    connection.udp = loop::Udp::create(m_loop, m_endpoint.family());
    auto* c = &connection;
    if (int rc = connection.udp->connect(m_endpoint); rc != 0) {
      error(connection, fmt::format("connect {}: {}", m_endpoint.to_string(), uv_strerror(rc)));
      ++m_connect_failures;
      connection.udp->close();
      return;
    }
    connection.udp->on_error([this, c](int status) {
      if (status == UV_ECONNREFUSED) {
        // Nothing listens there (ICMP port unreachable); the datagram counts as lost at its timeout.
        m_connect_refused = true;
        if (m_result.first_error.empty()) {
          error(*c, fmt::format("send to {}: {}", m_endpoint.to_string(), uv_strerror(status)));
        }
        return;
      }
      error(*c, uv_strerror(status));
    });
    connection.udp->recv_start([this, c](std::string_view data, const sockaddr*, bool truncated) {
      on_datagram(*c, data, truncated);
    });
    ++m_result.connects;
    send_datagram(connection);
  }

  void send_datagram(Connection& connection) {
    if (m_stopping) {
      return;
    }
    ++connection.sequence;
    connection.datagram.resize(m_config.size);
    std::memcpy(connection.datagram.data(), &connection.sequence, 8);
    auto rest = slice(connection.base + connection.sequence * 8191, m_config.size - 8);
    std::memcpy(connection.datagram.data() + 8, rest.data(), rest.size());
    connection.sent_at = now_ns();
    connection.waiting = true;
    if (int rc = connection.udp->send(connection.datagram, nullptr); rc != 0 && rc != UV_ECONNREFUSED) {
      error(connection, fmt::format("send: {}", uv_strerror(rc)));
    }
  }

  void on_datagram(Connection& connection, std::string_view data, bool truncated) {
    if (m_stopping) {
      return;
    }
    std::uint64_t sequence = 0;
    if (!truncated && data.size() == m_config.size) {
      std::memcpy(&sequence, data.data(), 8);
      if (sequence < connection.sequence) {
        ++m_result.late;
        return;
      }
    }
    if (truncated || data.size() != m_config.size || sequence != connection.sequence ||
        data.substr(8) != std::string_view(connection.datagram).substr(8)) {
      ++m_result.mismatches;
      error(connection, fmt::format("datagram {}: the answer ({} bytes) differs from what was sent ({} bytes)",
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

  const BenchConfig& m_config;
  loop::Endpoint m_endpoint;
  Shared& m_shared;
  bool m_reports_progress;
  loop::Loop m_loop;
  std::vector<std::unique_ptr<Connection>> m_connections;
  std::shared_ptr<loop::Timer> m_deadline;
  std::shared_ptr<loop::Timer> m_tick;
  std::shared_ptr<loop::Timer> m_scheduler;
  std::uint64_t m_interval_ns = 0;
  std::uint64_t m_start = 0;
  std::uint64_t m_end = 0;
  std::uint64_t m_progress_at = 0;
  std::uint64_t m_connect_failures = 0;
  bool m_connect_refused = false;
  bool m_stopping = false;
  BenchResult m_result;
};

double per_second(double count, double seconds) { return seconds > 0 ? count / seconds : 0; }

} // namespace

unsigned char pattern_byte(std::uint64_t offset) {
  return static_cast<unsigned char>(doubled_pattern()[offset % k_pattern]);
}

BenchResult run_bench(const BenchConfig& config) {
  BenchResult result;
  auto endpoints = net::resolve(config.address, config.udp ? SOCK_DGRAM : SOCK_STREAM);
  if (!endpoints) {
    result.connect_failed = true;
    result.first_error = endpoints.error();
    return result;
  }
  doubled_pattern(); // build it once, before the threads race to
  Shared shared;
  int threads = std::max(1, std::min(config.threads, config.conns));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    std::vector<int> indexes;
    for (int i = t; i < config.conns; i += threads) {
      indexes.push_back(i);
    }
    workers.push_back(std::make_unique<Worker>(config, endpoints->front(), shared, indexes, t == 0 && config.progress));
  }
  // Ctrl-C (or TERM) ends the run early but keeps what was measured, as wrk and iperf3 do.
  g_interrupted.store(0);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  std::vector<std::thread> running;
  for (int t = 1; t < threads; ++t) {
    running.emplace_back([worker = workers[t].get()] { worker->run(); });
  }
  workers[0]->run();
  for (auto& thread : running) {
    thread.join();
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  result.interrupt_signal = shared.interrupt_signal.load() != 0 ? shared.interrupt_signal.load() : g_interrupted.load();
  if (config.progress) {
    fmt::print(stderr, "\r\x1b[K");
  }
  bool refused = false;
  for (auto& worker : workers) {
    auto& part = worker->result();
    result.elapsed = std::max(result.elapsed, part.elapsed);
    result.messages += part.messages;
    result.bytes += part.bytes;
    result.connects += part.connects;
    result.errors += part.errors;
    result.mismatches += part.mismatches;
    result.lost += part.lost;
    result.late += part.late;
    result.latency.merge(part.latency);
    if (result.first_error.empty()) {
      result.first_error = part.first_error;
    }
    refused = refused || worker->connect_refused();
  }
  // Not one connection (or, over UDP, not one answer with the port refusing): the server is not
  // there, which scripts need to tell apart from a server that misbehaves.
  bool nothing_worked = config.udp ? result.messages == 0 && refused : result.connects == 0;
  result.connect_failed = nothing_worked && (result.errors > 0 || refused);
  return result;
}

namespace {

std::string plain_mode_name(const BenchConfig& config) {
  if (config.udp) {
    return "udp rr";
  }
  switch (config.mode) {
  case Mode::rr:
    return config.rate > 0 ? "tcp rr (open loop)" : "tcp rr";
  case Mode::stream:
    return "tcp stream";
  case Mode::connect:
    return "tcp connect";
  case Mode::handshake:
    return "tcp handshake";
  }
  return "tcp";
}

} // namespace

std::string mode_name(const BenchConfig& config) {
  auto name = plain_mode_name(config);
  return config.tls ? "tls " + name.substr(4) : name; // "tls rr", "tls stream", "tls connect"
}

std::string format_text(const BenchConfig& config, const BenchResult& result) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::string text = fmt::format("{} {}: {} conns x {} B, {:.2f} s: {:.0f} msgs/s, {:.2f} MB/s", mode_name(config),
                                 config.address.to_string(), config.conns, config.size, result.elapsed,
                                 per_second(static_cast<double>(result.messages), result.elapsed),
                                 per_second(static_cast<double>(result.bytes), result.elapsed) / 1e6);
  if ((config.mode == Mode::connect || config.mode == Mode::handshake) && !config.udp) {
    text += fmt::format(", {:.0f} connects/s", per_second(static_cast<double>(result.connects), result.elapsed));
  }
  if (result.latency.count() > 0) {
    text += fmt::format("; latency p50 {:.1f} us, p90 {:.1f} us, p99 {:.1f} us, max {:.1f} us",
                        us(result.latency.percentile(50)), us(result.latency.percentile(90)),
                        us(result.latency.percentile(99)), us(result.latency.max()));
  }
  if (config.udp) {
    text += fmt::format("; {} lost, {} late", result.lost, result.late);
  }
  text += fmt::format("; {} errors", result.errors);
  return text;
}

std::string format_json(const BenchConfig& config, const BenchResult& result) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  nlohmann::json object = {
      {"proto", config.udp ? "udp" : "tcp"},
      {"tls", config.tls != nullptr},
      {"mode", config.udp                           ? "rr"
               : config.mode == Mode::rr          ? "rr"
               : config.mode == Mode::stream      ? "stream"
               : config.mode == Mode::handshake   ? "handshake"
                                                  : "connect"},
      {"address", config.address.to_string()},
      {"conns", config.conns},
      {"size", config.size},
      {"rate", config.rate},
      {"threads", config.threads},
      {"duration_s", result.elapsed},
      {"messages", result.messages},
      {"msgs_per_s", per_second(static_cast<double>(result.messages), result.elapsed)},
      {"bytes", result.bytes},
      {"mb_per_s", per_second(static_cast<double>(result.bytes), result.elapsed) / 1e6},
      {"connects", result.connects},
      {"connects_per_s", per_second(static_cast<double>(result.connects), result.elapsed)},
      {"latency_us",
       {{"p50", us(result.latency.percentile(50))},
        {"p90", us(result.latency.percentile(90))},
        {"p99", us(result.latency.percentile(99))},
        {"max", us(result.latency.max())},
        {"mean", result.latency.mean() / 1000.0}}},
      {"errors", result.errors},
      {"mismatches", result.mismatches},
      {"lost", result.lost},
      {"late", result.late},
  };
  return object.dump();
}

} // namespace netlab::bench
