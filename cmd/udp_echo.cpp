// netlab udp-echo: UDP echo server, and a client that reports lost datagrams.
#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/udp/udp_client.hpp"
#include "core/udp/udp_server.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address = "127.0.0.1:8080";
  bool client = false;
  bool upper = false;
  std::string port_file;
  AccessOptions access;
  double timeout_s = 1.0;
  int retries = 2;
};

std::string join_numbers(const std::vector<std::uint64_t>& numbers) {
  std::string text;
  // A few numbers help; thousands would bury the summary.
  constexpr std::size_t k_shown = 20;
  for (std::size_t i = 0; i < numbers.size() && i < k_shown; ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(numbers[i]);
  }
  if (numbers.size() > k_shown) {
    text += ", ...";
  }
  return text;
}

int run_client(const Options& options) {
  udp::UdpClientConfig client;
  client.address = parse_address_arg(options.address, {.allow_unix = false, .allow_port_zero = false});
  client.timeout = Seconds(options.timeout_s);
  client.retries = options.retries;
  auto report = value_or_throw(udp::run_udp_client(client));
  if (!report.lost_lines.empty()) {
    log::info("lost {} of {} datagrams to {} after {} retries each (lines {}){}", report.lost_lines.size(), report.sent,
              client.address.to_string(), options.retries, join_numbers(report.lost_lines),
              report.refused > 0 ? "; connection refused: nothing listens there" : "");
  }
  if (!report.differed_lines.empty()) {
    log::info("{} of {} replies from {} differed from what was sent (lines {})", report.differed_lines.size(),
              report.sent, client.address.to_string(), join_numbers(report.differed_lines));
  }
  return report.failed() ? k_exit_failure : k_exit_ok;
}

int run_udp_echo(const Options& options, const CLI::App& app) {
  if (options.client) {
    refuse_given(app, {"--port-file", "--upper", "--allow-from", "--deny-from"}, "the server (not --client)");
    return run_client(options);
  }
  refuse_given(app, {"--timeout", "--retries"}, "--client");
  udp::UdpServerConfig config;
  config.address = parse_address_arg(options.address, {.allow_unix = false, .allow_port_zero = true});
  config.upper = options.upper;
  config.port_file = options.port_file;
  config.access = access_policy(options.access, config.address);
  value_or_throw(udp::run_udp_server(config));
  return k_exit_ok;
}

} // namespace

Runner setup_udp_echo(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address,
                 "address to listen on (or with --client, to send to): HOST:PORT, [IPv6]:PORT or PORT")
      ->capture_default_str();
  app.add_flag("--client", options->client,
               "send each stdin line as a datagram to ADDR, print the replies, report lost ones (exit 1)");
  app.add_flag("--upper", options->upper, "server: upper-case ASCII letters in the echo");
  add_port_file(app, options->port_file);
  // No --max-conns-per-ip: UDP has no connections to count.
  add_access_options(app, options->access, false);
  as_duration(app.add_option("--timeout", options->timeout_s, "client: how long to wait for each reply before retrying")
                  ->capture_default_str(),
              {.min = 0, .above = true});
  as_count(app.add_option("--retries", options->retries,
                          "client: extra sends of an unanswered datagram before it is lost")
               ->capture_default_str(),
           0, 1000);
  set_example(app, "  netlab udp-echo 0 --port-file udp.port &\n"
                   "  while [ ! -s udp.port ]; do sleep 0.1; done   # UDP has no connection to probe\n"
                   "  printf 'one\\ntwo\\n' | netlab udp-echo --client \"$(cat udp.port)\"");
  return [options, &app] { return run_udp_echo(*options, app); };
}

} // namespace netlab::cmd
