// netlab NAME: one line saying what the command is for. (Template: copy, rename, fill in.)
#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

// The command line as typed; only cmd/ has ...Options. Core takes a ...Config of values.
struct Options {
  std::string address = "127.0.0.1:8080";
  // A duration CLI11 binds is a number, so its name says the unit; core gets a Seconds.
  double timeout_s = 10;
};

int run_name(const Options& options) {
  // Bad arguments throw UsageError here (exit 2); parse_address_arg and value_or_usage do it for
  // the parsers that return a Result.
  auto address = parse_address_arg(options.address);
  (void)address;
  // Build the core config from the options and make the one core call, whose Result carries the
  // exit code of its failure:
  //   name::NameConfig config;
  //   config.address = address;
  //   config.timeout = Seconds(options.timeout_s);
  //   return value_or_throw(name::run_name(config));
  return k_exit_ok;
}

} // namespace

Runner setup_name(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address, "address: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")
      ->capture_default_str();
  // Numbers go through cmd/values: units ("250ms", "64K"), bounds, and netlab's own messages.
  as_duration(app.add_option("--timeout", options->timeout_s, "give up after SECONDS")->capture_default_str());
  set_example(app, "  netlab name 127.0.0.1:8080 --timeout 5");
  return [options] { return run_name(*options); };
}

} // namespace netlab::cmd
