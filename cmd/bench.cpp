// netlab bench: a load generator for echo servers that checks every echoed byte.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/tls_options.hpp"
#include "core/bench/bench.hpp"
#include "core/bench/report.hpp"
#include "core/loop/udp.hpp"
#include "core/util/error.hpp"
#include "core/util/units.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string proto;
  std::string address;
  std::string mode = "rr";
  int conns = 1;
  std::size_t size = 0;
  double duration_s = 5;
  double rate = 0;
  int threads = 1;
  std::uint64_t messages = 0;
  double timeout_s = 1.0;
  bool json = false;
  TlsClientOptions tls;
};

int run_bench(const Options& options) {
  bench::BenchConfig config;
  config.udp = options.proto == "udp";
  config.address = parse_address_arg(options.address, {.allow_unix = false, .allow_port_zero = false});
  config.mode = options.mode == "stream"      ? bench::Mode::stream
                : options.mode == "connect"   ? bench::Mode::connect
                : options.mode == "handshake" ? bench::Mode::handshake
                                              : bench::Mode::rr;
  if (config.udp && config.mode != bench::Mode::rr) {
    throw UsageError("udp supports --mode rr only");
  }
  if (config.udp && options.rate > 0) {
    throw UsageError("--rate is for tcp rr; udp runs closed loop");
  }
  if (options.rate > 0 && config.mode != bench::Mode::rr) {
    throw UsageError("--rate needs --mode rr");
  }
  // Streaming wants big writes; a round trip wants a small message.
  config.size = options.size != 0 ? options.size : (config.mode == bench::Mode::stream ? 64 * 1024 : 64);
  // The most any family carries; run_bench holds a message to its address's own family's limit.
  if (config.udp && (config.size < 8 || config.size > loop::Udp::k_max_datagram_v6)) {
    throw UsageError(fmt::format("--size {}: a udp message is 8 to {} bytes (8 carry a sequence number)", config.size,
                                 loop::Udp::k_max_datagram_v6));
  }
  if (config.size > bench::k_max_size) {
    throw UsageError(fmt::format("--size {}: at most {} bytes", config.size, bench::k_max_size));
  }
  config.conns = options.conns;
  config.duration = Seconds(options.duration_s);
  config.rate = options.rate;
  config.threads = options.threads;
  config.max_messages = options.messages;
  config.udp_timeout = Seconds(options.timeout_s);
  config.progress = !options.json && is_tty(2);
  config.tls = tls_client_context(options.tls);
  config.sni = options.tls.sni;
  if (config.tls && config.udp) {
    throw UsageError("--tls is for tcp");
  }

  auto result = value_or_throw(bench::run_bench(config));
  auto text = options.json ? bench::format_json(config, result) : bench::format_text(config, result);
  fmt::print("{}\n", text);
  std::fflush(stdout);
  value_or_throw(bench::verdict(result));
  return k_exit_ok;
}

} // namespace

Runner setup_bench(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("PROTO", options->proto, "tcp or udp")->required()->check(CLI::IsMember({"tcp", "udp"}));
  app.add_option("ADDR", options->address, "server address: HOST:PORT, [IPv6]:PORT or PORT")->required();
  app.add_option("--mode", options->mode,
                 "rr: send a message, wait for its echo, repeat; stream: send and read as fast as possible; "
                 "connect: connect, one round trip, close, repeat; handshake: connect (over TLS: and "
                 "handshake), close, repeat, nothing echoed, so any server will do")
      ->type_name("MODE")
      ->capture_default_str()
      ->check(CLI::IsMember({"rr", "stream", "connect", "handshake"}));
  as_count(app.add_option("-c,--conns", options->conns, "connections (udp: sockets) at once")->capture_default_str(), 1,
           100000);
  as_size(app.add_option("-s,--size", options->size, "bytes per message (default 64; stream: bytes per write, 64K)"), 1,
          bench::k_max_size);
  as_duration(app.add_option("-d,--duration", options->duration_s, "how long to run")->capture_default_str(),
              {.min = 0, .above = true});
  app.add_option("--rate", options->rate,
                 "open loop: N messages/s per connection (at most 1000000) on a schedule, latency timed from "
                 "when each was due; a connection with 1 MiB or 16384 messages unanswered sends the overdue "
                 "ones as echoes come back")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto rate = units::parse_number(text);
            if (!rate) {
              return rate.error();
            }
            auto schedulable = bench::check_rate(*rate);
            return schedulable ? std::string() : schedulable.error();
          },
          "", "rate"));
  as_count(app.add_option("--threads", options->threads, "event loops (threads) to spread the connections over")
               ->capture_default_str(),
           1, 64);
  as_count(app.add_option("--messages", options->messages, "stop after N messages in all (0: run for --duration)"), 0);
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "udp: how long before an unanswered datagram counts "
                             "as lost")
                  ->capture_default_str(),
              {.min = 0, .above = true});
  app.add_flag("--json", options->json, "print the result as one JSON object");
  add_tls_client_options(app, options->tls, false);
  app.footer("Exit status: 0 ok, 1 a byte differed or a connection failed, 255 could not connect.\n"
             "Example:\n"
             "  netlab echo-server 0 --port-file echo.port &\n"
             "  netlab probe --wait 5 --port-file echo.port\n"
             "  netlab bench tcp \"$(cat echo.port)\" --conns 10 --duration 2\n"
             "  netlab bench tcp \"$(cat echo.port)\" --mode stream --duration 2 --json\n"
             "  netlab bench tcp localhost:8443 --tls --tls-ca ca.pem --mode connect\n"
             "  netlab bench tcp localhost:4433 --tls --tls-ca ca.pem --mode handshake -c 4");
  return [options] { return run_bench(*options); };
}

} // namespace netlab::cmd
