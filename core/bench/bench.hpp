// The load generator: many connections on libuv loops, every echoed byte checked against what
// was sent, latencies in a histogram.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/bench/histogram.hpp"
#include "core/bench/pattern.hpp"
#include "core/net/address.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::bench {

enum class Mode {
  rr,        // request/response: send a message, wait for its whole echo, repeat
  stream,    // send as fast as the server reads, reading the echo back at the same time
  connect,   // connect, one round trip, close, repeat (connections per second)
  handshake, // connect (over TLS: and complete the handshake), close, repeat; nothing is echoed,
             // so any server will do (openssl s_server, for handshakes per second)
};

struct BenchConfig {
  bool udp = false;
  net::Address address;
  Mode mode = Mode::rr;
  int conns = 1;
  // Bytes per message (rr, connect, UDP) or per write (stream).
  std::size_t size = 64;
  Seconds duration{5};
  // Open loop: messages per second per connection on a fixed schedule; 0 = closed loop. At most
  // k_max_rate (check_rate).
  double rate = 0;
  int threads = 1;
  // Stop after this many messages in all (0: only --duration bounds the run).
  std::uint64_t max_messages = 0;
  // UDP: how long before an unanswered datagram counts as lost.
  Seconds udp_timeout{1.0};
  // Print a progress line on stderr once a second.
  bool progress = false;
  // TCP over TLS with this client context (null: plain). Every connection does a full handshake
  // (connect mode measures them); the certificate is checked for `sni` if given, else the host.
  std::shared_ptr<tls::Context> tls;
  std::string sni;
};

// Open loop's fastest schedule per connection: a message every microsecond. libuv's timers tick
// in milliseconds, so faster would only mean bigger bursts per tick.
constexpr double k_max_rate = 1e6;

// Whether `rate` (messages per second per connection; 0: closed loop) can be scheduled: fails
// with "must be from 0 ... (got RATE)" for a negative, NaN or over-k_max_rate one.
Result<void> check_rate(double rate);

// Open loop against a server that falls behind or never echoes: a connection sends no more while
// this many bytes, or messages, are unanswered. What falls due meanwhile goes out once echoes
// come back, timed from when it was due, so memory stays bounded and the stall shows as latency.
constexpr std::uint64_t k_open_loop_backlog_bytes = 1024 * 1024;
constexpr std::size_t k_open_loop_backlog_messages = 16384;

// Largest message: the send pattern is this long, so any message is one contiguous slice of it.
constexpr std::size_t k_max_size = k_pattern_length;

struct BenchResult {
  double elapsed_s = 0;         // seconds measured
  std::uint64_t messages = 0;   // complete, verified round trips (stream: bytes / size)
  std::uint64_t bytes = 0;      // echoed bytes received and verified
  std::uint64_t connects = 0;   // connections established
  std::uint64_t errors = 0;     // broken connections, unexpected closes, mismatches
  std::uint64_t mismatches = 0; // echoed bytes that differ from those sent
  std::uint64_t lost = 0;       // UDP datagrams with no answer in time
  std::uint64_t late = 0;       // UDP answers that came after being counted lost
  // No connection could be made at all (exit 255 material).
  bool connect_failed = false;
  // SIGINT or SIGTERM ended the run early; the figures cover the time until then.
  int interrupt_signal = 0;
  std::string first_error;
  Histogram latency; // nanoseconds
};

// Runs the benchmark to its end (duration or message count), or until SIGINT/SIGTERM, which it
// catches while it runs (restoring the previous handlers after) and reports in `interrupt_signal`.
// Over UDP, a message larger than loop::Udp carries to the resolved address's family fails with
// exit code 2 before anything is sent; with 255 when no connection could be made at all. Reports
// come from core/bench/report.hpp.
Result<BenchResult> run_bench(const BenchConfig& config);

// What the run's figures mean for the exit status, once they are printed: fails with 128+N when
// signal N cut it short, 1 when a byte differed, a connection broke or no message completed a
// round trip.
Result<void> verdict(const BenchResult& result);

} // namespace netlab::bench
