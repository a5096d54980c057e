// netlab probe: are these TCP addresses accepting connections? For scripts, like `nc -z`.
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/tls_options.hpp"
#include "core/probe/probe.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::vector<std::string> addresses;
  double timeout_s = 1.0;
  double wait_s = -1; // not given
  bool json = false;
  TlsClientOptions tls;
  long min_days = -1;
  std::string port_file;
};

int run_probe(const Options& options) {
  probe::ProbeConfig config;
  config.timeout = Seconds(options.timeout_s);
  if (options.wait_s >= 0) {
    config.wait = Seconds(options.wait_s);
  }
  config.tls = tls_client_context(options.tls);
  config.sni = options.tls.sni;
  config.min_days = options.min_days;
  if (options.min_days >= 0 && !config.tls) {
    throw UsageError("--min-days needs --tls");
  }
  config.port_file = options.port_file;
  if (!options.port_file.empty()) {
    if (!options.addresses.empty()) {
      throw UsageError("give ADDR or --port-file, not both");
    }
  } else {
    if (options.addresses.empty()) {
      throw UsageError("missing ADDR (or --port-file FILE); run 'netlab probe --help'");
    }
    for (const auto& text : options.addresses) {
      config.addresses.push_back(parse_address_arg(text, {.allow_unix = true, .allow_port_zero = false}));
    }
    for (const auto& address : config.addresses) {
      if (config.tls && address.is_unix()) {
        throw UsageError(fmt::format("--tls needs TCP addresses, not {}", address.to_string()));
      }
    }
  }
  auto report = value_or_throw(probe::run_probe(config));
  for (const auto& result : report.results) {
    fmt::print("{}\n", options.json ? probe::format_json(result) : probe::format_text(result));
  }
  std::fflush(stdout);
  return report.exit_status();
}

} // namespace

Runner setup_probe(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->addresses, "addresses to check: HOST:PORT, [IPv6]:PORT, PORT or unix:/path");
  as_duration(app.add_option("--timeout", options->timeout_s, "how long one connection attempt may take")
                  ->capture_default_str(),
              {.min = 0, .above = true});
  as_duration(app.add_option("--wait", options->wait_s,
                             "retry closed addresses until all are open or SECONDS pass (exit 124 if they do)"));
  app.add_flag("--json", options->json, "one JSON object per address");
  add_tls_client_options(app, options->tls, false);
  as_count(app.add_option("--min-days", options->min_days,
                          "with --tls: fail (exit 1) when the certificate expires in fewer than N days"),
           0, 100000);
  app.add_option("--port-file", options->port_file,
                 "check the address a netlab server writes to FILE once listening (with --wait: wait for "
                 "the file too)")
      ->type_name("FILE");
  app.footer("Exit status: 0 all open, 1 any closed (or, with --tls, a failed handshake or a\n"
             "certificate expiring within --min-days), 124 --wait ran out, 2 bad arguments.\n"
             "Example:\n"
             "  netlab echo-server 0 --port-file echo.port &\n"
             "  netlab probe --wait 5 --port-file echo.port\n"
             "  netlab probe 127.0.0.1:22 8080\n"
             "  netlab probe --wait 10 127.0.0.1:5432 && psql ...\n"
             "  netlab probe --tls --min-days 14 example.org:443");
  return [options] { return run_probe(*options); };
}

} // namespace netlab::cmd
