// netlab exec-client: run a command on an exec-server and exit with its status, or a REPL.
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cmd/cli_spec.hpp"
#include "cmd/common.hpp"
#include "core/util/env.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/exec/exec_client.hpp"
#include "core/tls/context.hpp"
#include "core/tls/psk.hpp"
#include "core/exec/request.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address;
  std::string token_file;
  bool shell = false;
  double timeout_s = 0;
  bool json = false;
  bool no_stdin = false;
  std::vector<std::string> command;
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string sni;
};

// --tls: TLS 1.3 only. With a token and no certificate options, the token is the pre-shared key
// (core/tls/psk.hpp); otherwise the server's certificate is verified (--tls-ca, else the system
// store) and --tls-cert/--tls-key are shown if the server asks.
std::shared_ptr<tls::Context> exec_tls_context(const Options& options, const std::string& token) {
  bool certificates = !options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_key.empty();
  if (!options.tls) {
    if (certificates || !options.sni.empty()) {
      throw UsageError("--tls-ca, --tls-cert, --tls-key and --sni need --tls");
    }
    return nullptr;
  }
  tls::ContextConfig context;
  context.role = tls::Role::client;
  context.min_version = tls::MinVersion::tls13;
  if (certificates || token.empty()) {
    if (options.tls_cert.empty() != options.tls_key.empty()) {
      throw UsageError("a client certificate needs both --tls-cert FILE and --tls-key FILE");
    }
    context.ca_file = options.tls_ca;
    context.cert_file = options.tls_cert;
    context.key_file = options.tls_key;
  } else {
    context.psk = value_or_throw(tls::derive_psk(token));
  }
  return value_or_throw(tls::Context::create(context));
}

int run_exec_client(const Options& options) {
  exec::ExecClientConfig client;
  client.address = parse_address_arg(options.address, {.allow_unix = true, .allow_port_zero = false});
  // Taken out of our environment at once (and wiped from /proc/PID/environ): an allowed command
  // that reads its parent's environment must not find the token there.
  auto token_from_env = env::take_secret("NETLAB_TOKEN");
  auto token = value_or_usage(exec::load_token(options.token_file, token_from_env ? token_from_env->c_str() : nullptr));
  client.token = token;
  client.tls = exec_tls_context(options, token);
  client.sni = options.sni;
  if (client.tls && client.address.is_unix()) {
    throw UsageError("--tls needs a TCP address");
  }
  client.shell = options.shell;
  client.timeout = Seconds(options.timeout_s);
  client.json = options.json;
  client.command = options.command;
  client.send_stdin = !options.command.empty() && !options.no_stdin && !is_tty(0);
  client.interactive = options.command.empty() && is_tty(0);
  return value_or_throw(exec::run_exec_client(client));
}

} // namespace

Runner setup_exec_client(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address, "server address: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")->required();
  complete_as(app.add_option("COMMAND", options->command,
                             "command and arguments to run once (put them after --); without one, a >>: "
                             "prompt runs lines"),
              clidoc::Hint::remote);
  complete_after_dashes(app, clidoc::Hint::remote);
  app.add_option("--token-file", options->token_file,
                 "answer the server's challenge with the token in FILE "
                 "(mode 600). Without it, the environment variable "
                 "NETLAB_TOKEN, if set, holds the token itself")
      ->type_name("FILE");
  app.add_flag("--shell", options->shell, "send the command (or each line) as one shell command line");
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "ask the server to kill the command after SECONDS (exit 124)"),
              {.min = 0, .above = true});
  app.add_flag("--json", options->json,
               "print one JSON object per command: status, exit code, signal, sizes, duration and the output");
  app.add_flag("--no-stdin", options->no_stdin, "do not send stdin to the command (it is sent when not a terminal)");
  app.add_flag("--tls", options->tls,
               "TLS 1.3: the token is the pre-shared key (no certificates), or with --tls-ca the server's "
               "certificate and name are verified");
  app.add_option("--tls-ca", options->tls_ca,
                 "with --tls: verify the server's certificate against the CAs in FILE (PEM) instead of the token key")
      ->type_name("FILE");
  app.add_option("--tls-cert", options->tls_cert,
                 "with --tls: client certificate FILE (PEM) for --tls-client-ca servers")
      ->type_name("FILE");
  app.add_option("--tls-key", options->tls_key, "with --tls: private key FILE (PEM) of --tls-cert")->type_name("FILE");
  app.add_option("--sni", options->sni, "with --tls certificates: send NAME and verify the certificate for it")
      ->type_name("NAME");
  set_example(app, "  # against: netlab exec-server --token-file token --shell (127.0.0.1:8080)\n"
                   "  netlab exec-client 127.0.0.1:8080 --token-file token -- ls -l /tmp\n"
                   "  echo hello | netlab exec-client 8080 --token-file token -- tr a-z A-Z\n"
                   "  netlab exec-client 8080 --token-file token --shell -- 'ls | wc -l'\n"
                   "Exit status: the remote command's; 128+N if it died of signal N; 124 timeout; 127 the program\n"
                   "was not found, 126 it could not be executed; 255 connect, authentication or protocol failure;\n"
                   "130 after a second Ctrl-C\n"
                   "(the first is sent to the command), or after one before the command started.");
  return [options] { return run_exec_client(*options); };
}

} // namespace netlab::cmd
