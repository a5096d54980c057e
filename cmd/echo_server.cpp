// netlab echo-server: TCP and unix-socket echo server.
#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/tls_options.hpp"
#include "core/echo/echo_service.hpp"
#include "core/net/server.hpp"
#include "core/util/cpus.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address = "127.0.0.1:8080";
  bool upper = false;
  std::size_t max_conns = 10000;
  AccessOptions access;
  double idle_timeout_s = 300;
  std::string port_file;
  int workers = 1;
  TlsServerOptions tls;
};

int run_echo_server(const Options& options) {
  net::ServerConfig config;
  config.address = parse_address_arg(options.address);
  config.workers = options.workers;
  config.port_file = options.port_file;
  config.limits.max_conns = options.max_conns;
  config.limits.idle_timeout = Seconds(options.idle_timeout_s);
  config.access = access_policy(options.access, config.address);
  echo::EchoServiceConfig echo_options;
  echo_options.upper = options.upper;
  echo_options.tls = tls_server_context(options.tls);
  echo_options.handshake_timeout = Seconds(options.tls.handshake_timeout_s);
  if (echo_options.tls && config.address.is_unix()) {
    throw UsageError("--tls needs a TCP address");
  }
  if (auto warning = cpus::oversubscribed("--workers", static_cast<unsigned>(options.workers), cpus::available())) {
    log::line(*warning);
  }
  value_or_throw(net::run_server(config, [echo_options](loop::Loop& loop) {
    return echo::make_echo_service(loop, echo_options);
  }));
  return k_exit_ok;
}

} // namespace

Runner setup_echo_server(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address, "address to listen on: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_flag("--upper", options->upper, "upper-case ASCII letters in the echo");
  add_connection_limits(app, options->max_conns, options->access, options->idle_timeout_s);
  add_port_file(app, options->port_file);
  as_count(
      app.add_option(
             "--workers", options->workers,
             "N event loops on N threads sharing the port (SO_REUSEPORT); they help only while N is at most the CPUs left beside the clients (more warns)")
          ->capture_default_str(),
      1, 256);
  add_tls_server_options(app, options->tls);
  set_example(app, "  netlab echo-server 0 --port-file echo.port &\n"
                   "  netlab probe --wait 5 --port-file echo.port\n"
                   "  netlab echo-client \"$(cat echo.port)\" --message hello\n"
                   "  netlab echo-server 127.0.0.1:8443 --tls --tls-cert cert.pem --tls-key key.pem");
  return [options] { return run_echo_server(*options); };
}

} // namespace netlab::cmd
