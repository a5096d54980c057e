// netlab echo-client: talk to any stream server, a line at a time or as a raw byte pipe.
#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "cmd/tls_options.hpp"
#include "core/echo/echo_client.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address;
  std::vector<std::string> messages;
  double timeout_s = -1; // not given: 10, or 0 (none) with --raw
  bool raw = false;
  TlsClientOptions tls;
};

int run_echo_client(const Options& options) {
  echo::EchoClientConfig client;
  client.address = parse_address_arg(options.address, {.allow_unix = true, .allow_port_zero = false});
  client.messages = options.messages;
  client.raw = options.raw;
  // Raw mode may sit silent for as long as the user likes; line mode waits 10 s for a reply.
  client.timeout = Seconds(options.timeout_s >= 0 ? options.timeout_s : (options.raw ? 0 : 10));
  client.interactive = !options.raw && options.messages.empty() && is_tty(0);
  if (options.raw && !options.messages.empty()) {
    throw UsageError("--raw copies stdin; it does not take --message");
  }
  client.tls = tls_client_context(options.tls);
  if (client.tls && client.address.is_unix()) {
    throw UsageError("--tls needs a TCP address");
  }
  client.sni = options.tls.sni;
  client.tls_show = options.tls.show;
  value_or_throw(echo::run_echo_client(client));
  return k_exit_ok;
}

} // namespace

Runner setup_echo_client(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address, "server address: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")
      ->type_name("ADDR")
      ->required();
  app.add_option("-m,--message", options->messages, "send TEXT as one line and print the reply (repeatable)")
      ->type_name("TEXT");
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "limit for connecting and for each reply (default 10s; --raw: none, else idle limit)"));
  app.add_flag("--raw", options->raw,
               "copy stdin to the server and its replies to stdout, binary-safe; half-close at end of input");
  add_tls_client_options(app, options->tls, true);
  set_example(app, "  # against: netlab echo-server (127.0.0.1:8080)\n"
                   "  netlab echo-client 127.0.0.1:8080 --message hello --message world\n"
                   "  printf 'a\\nb\\n' | netlab echo-client 8080\n"
                   "  netlab echo-client 8080 --raw < file.bin > echoed.bin\n"
                   "  netlab echo-client localhost:8443 --tls --tls-ca ca.pem --tls-show -m hi");
  return [options] { return run_echo_client(*options); };
}

} // namespace netlab::cmd
