// netlab probe: are these TCP addresses accepting connections? For scripts, like `nc -z`.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/probe/probe.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::vector<std::string> addresses;
  double timeout = 1.0;
  double wait = -1;
  bool json = false;
};

int run_probe(const Options& options) {
  probe::ProbeOptions config;
  for (const auto& text : options.addresses) {
    config.addresses.push_back(parse_address_arg(text, {.allow_unix = true, .allow_port_zero = false}));
  }
  config.timeout = options.timeout;
  config.wait = options.wait;
  auto report = probe::run_probe(config);
  for (const auto& result : report.results) {
    fmt::print("{}\n", options.json ? probe::format_json(result) : probe::format_text(result));
  }
  std::fflush(stdout);
  if (report.all_open()) {
    return k_exit_ok;
  }
  return report.wait_expired ? k_exit_timeout : k_exit_failure;
}

} // namespace

Runner setup_probe(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->addresses, "addresses to check: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")
      ->required();
  as_duration(app.add_option("--timeout", options->timeout, "how long one connection attempt may take")
                  ->capture_default_str(),
              {.min = 0, .above = true});
  as_duration(app.add_option("--wait", options->wait,
                             "retry closed addresses until all are open or SECONDS pass (exit 124 if they do)"));
  app.add_flag("--json", options->json, "one JSON object per address");
  app.footer("Exit status: 0 all open, 1 any closed, 124 --wait ran out, 2 bad arguments.\n"
             "Example:\n"
             "  netlab probe 127.0.0.1:22 8080\n"
             "  netlab probe --wait 10 127.0.0.1:5432 && psql ...");
  return [options] { return run_probe(*options); };
}

} // namespace netlab::cmd
