// netlab exec-server: remote command execution over framed TCP (protocol.md §3), or the classic
// unframed form (§4) with --protocol legacy.
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cmd/common.hpp"
#include "core/util/env.hpp"
#include "cmd/values.hpp"
#include "cmd/registry.hpp"
#include "core/exec/exec_service.hpp"
#include "core/exec/exposure.hpp"
#include "core/net/server.hpp"
#include "core/tls/context.hpp"
#include "core/tls/psk.hpp"
#include "core/tls/terminator.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address = "127.0.0.1:8080";
  std::string token_file;
  bool shell = false;
  std::vector<std::string> allow;
  std::vector<std::string> allow_env;
  double timeout_s = 0;
  std::uint64_t max_output = 1ull << 30;
  std::uint64_t max_body = frame::k_default_max_body;
  std::size_t max_conns = 256;
  AccessOptions access;
  std::size_t max_running = 64;
  double idle_timeout_s = 300;
  double auth_timeout_s = 10;
  std::size_t max_unauthenticated = 32;
  double kill_grace_s = 2;
  std::string protocol = "framed";
  bool insecure = false;
  std::string port_file;
  bool tls = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  double tls_handshake_timeout_s = 10;
};

// --tls: TLS 1.3 only. With certificates, the server shows --tls-cert (and asks clients for one
// signed by --tls-client-ca); otherwise the token is the pre-shared key (core/tls/psk.hpp).
std::shared_ptr<tls::Context> exec_tls_context(const Options& options, const std::string& token) {
  bool certificates = !options.tls_cert.empty() || !options.tls_key.empty() || !options.tls_client_ca.empty();
  if (!options.tls) {
    if (certificates) {
      throw UsageError("--tls-cert, --tls-key and --tls-client-ca need --tls");
    }
    return nullptr;
  }
  tls::ContextConfig context;
  context.role = tls::Role::server;
  context.min_version = tls::MinVersion::tls13;
  if (certificates) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      throw UsageError("--tls with certificates needs both --tls-cert FILE and --tls-key FILE");
    }
    context.cert_file = options.tls_cert;
    context.key_file = options.tls_key;
    context.client_ca_file = options.tls_client_ca;
  } else {
    if (token.empty()) {
      throw UsageError("--tls needs a token (the pre-shared key) or --tls-cert FILE --tls-key FILE");
    }
    context.psk = value_or_throw(tls::derive_psk(token));
  }
  return value_or_throw(tls::Context::create(context));
}

int run_exec_server(const Options& options) {
  net::ServerConfig config;
  config.address = parse_address_arg(options.address);
  config.port_file = options.port_file;
  config.limits.max_conns = options.max_conns;
  config.access = access_policy(options.access, config.address);
  // No token is needed on a unix socket, so its permissions are the authentication: only our
  // own user may connect, not every local account as on the other servers' sockets.
  config.unix_mode = 0600;
  // Sessions time out idle connections themselves: a long silent command is not idleness.
  config.limits.idle_timeout = Seconds::zero();

  bool legacy = options.protocol == "legacy";
  // Taken out of our environment at once (and wiped from /proc/PID/environ): an allowed command
  // that reads its parent's environment must not find the token there.
  auto token_from_env = env::take_secret("NETLAB_TOKEN");
  auto token = value_or_usage(exec::load_token(options.token_file, token_from_env ? token_from_env->c_str() : nullptr));
  // Anyone who can connect can run commands: the rules of who may connect are core's.
  exec::ExposureConfig exposure;
  exposure.address = config.address;
  exposure.legacy = legacy;
  exposure.token = !token.empty();
  exposure.shell = options.shell;
  exposure.allow_list = !options.allow.empty();
  exposure.tls = options.tls;
  exposure.insecure = options.insecure;
  value_or_throw(exec::check_modes(exposure));
  auto tls_context = exec_tls_context(options, token);
  value_or_throw(exec::check_exposure(exposure));
  if (auto warning = exec::no_token_warning(exposure)) {
    log::line(*warning);
  }

  exec::ExecServiceConfig service;
  service.token = token;
  service.policy.allow_shell = options.shell || legacy;
  service.policy.allow = options.allow;
  for (const auto& name : options.allow) {
    service.policy.allow_paths.push_back(value_or_usage(exec::resolve_program(name, std::getenv("PATH"))));
  }
  for (const auto& key : options.allow_env) {
    if (key.empty() || key.find('=') != std::string::npos) {
      throw UsageError(fmt::format("--allow-env '{}': not a variable name", key));
    }
  }
  service.policy.allow_env = options.allow_env;
  service.policy.max_timeout = Seconds(options.timeout_s);
  service.max_output = options.max_output;
  service.max_running = options.max_running;
  service.limits.max_body = options.max_body;
  service.idle_timeout = Seconds(options.idle_timeout_s);
  service.auth_timeout = Seconds(options.auth_timeout_s);
  service.max_unauthenticated = options.max_unauthenticated;
  service.kill_grace = Seconds(options.kill_grace_s);
  Seconds handshake_timeout(options.tls_handshake_timeout_s);
  auto served = net::run_server(config, [service, legacy, tls_context, handshake_timeout](loop::Loop& loop) {
    auto inner = legacy ? exec::make_legacy_service(loop, service) : exec::make_exec_service(loop, service);
    if (tls_context) {
      // TLS first: a stranger who cannot complete the handshake never reaches the exec protocol.
      return tls::make_terminating_service(loop, tls_context, handshake_timeout, std::move(inner));
    }
    return inner;
  });
  value_or_throw(std::move(served));
  return k_exit_ok;
}

} // namespace

Runner setup_exec_server(CLI::App& app) {
  auto options = std::make_shared<Options>();
  app.add_option("ADDR", options->address, "address to listen on: HOST:PORT, [IPv6]:PORT, PORT or unix:/path")
      ->capture_default_str();
  app.add_option("--token-file", options->token_file,
                 "require the HMAC challenge with the token in FILE (mode 600, at least 16 bytes). Without it, "
                 "the environment variable NETLAB_TOKEN, if set, holds the token itself (not a file name)")
      ->type_name("FILE");
  app.add_flag("--shell", options->shell, "also accept shell command lines (run by /bin/sh -c), not just argv");
  app.add_option("--allow", options->allow,
                 "only run this program as argv[0] (exact match; repeatable); it is found in PATH once, at "
                 "start-up, and that file is what runs")
      ->type_name("PROGRAM");
  app.add_option("--allow-env", options->allow_env,
                 "let requests set environment variable KEY (repeatable). With --allow, only such keys may be "
                 "set; without, any key but PATH, LD_*, BASH_ENV, ENV and the others docs/security.md lists "
                 "(all with --shell)")
      ->type_name("KEY");
  as_duration(app.add_option("--timeout", options->timeout_s,
                             "kill a command after SECONDS (TERM, then KILL after --kill-grace); the most a "
                             "request may ask for (0: no limit)")
                  ->capture_default_str());
  as_duration(app.add_option("--kill-grace", options->kill_grace_s, "time between SIGTERM and SIGKILL on timeout")
                  ->capture_default_str(),
              {.min = 0.001, .max = 3600.0});
  as_size(app.add_option("--max-output", options->max_output,
                         "kill a command once its stdout+stderr pass BYTES; the exit frame says truncated")
              ->capture_default_str(),
          1);
  as_size(app.add_option("--max-body", options->max_body, "largest frame body accepted (a command's stdin)")
              ->capture_default_str(),
          0, std::uint64_t{1} << 32);
  as_count(app.add_option("--max-running", options->max_running, "answer 'busy' beyond N commands running at once")
               ->capture_default_str(),
           1);
  add_connection_limits(
      app, options->max_conns, options->access, options->idle_timeout_s,
      "close a connection with no command running for SECONDS, or not authenticated by then (0: never)");
  as_duration(app.add_option("--auth-timeout", options->auth_timeout_s,
                             "with a token, close a connection not authenticated within SECONDS (0: only "
                             "--idle-timeout)")
                  ->capture_default_str());
  as_count(app.add_option("--max-unauthenticated", options->max_unauthenticated,
                          "with a token, at most N connections waiting to authenticate; one more closes the oldest")
               ->capture_default_str(),
           1);
  app.add_option("--protocol", options->protocol,
                 "framed (protocol.md section 3), or legacy: the classic unframed shell protocol (section 4)")
      ->type_name("PROTOCOL")
      ->capture_default_str()
      ->check(CLI::IsMember({"framed", "legacy"}));
  app.add_flag("--tls", options->tls,
               "TLS 1.3: the token is the pre-shared key (no certificates), or --tls-cert/--tls-key are shown");
  app.add_option("--tls-cert", options->tls_cert, "with --tls: certificate chain FILE (PEM) instead of the token key")
      ->type_name("FILE");
  app.add_option("--tls-key", options->tls_key, "with --tls: private key FILE (PEM) of --tls-cert")->type_name("FILE");
  app.add_option("--tls-client-ca", options->tls_client_ca,
                 "with --tls-cert: require a client certificate signed by a CA in FILE (PEM)")
      ->type_name("FILE");
  as_duration(app.add_option("--tls-handshake-timeout", options->tls_handshake_timeout_s,
                             "close a connection whose TLS handshake is not done within this time")
                  ->capture_default_str(),
              {.min = 0, .above = true});
  app.add_flag("--insecure", options->insecure,
               "allow a non-loopback address without --tls (commands and output in clear, changeable on the way), "
               "without a token, or with --protocol legacy");
  add_port_file(app, options->port_file);
  set_example(app, "  head -c 32 /dev/urandom | base64 > token && chmod 600 token\n"
                   "  netlab exec-server 0 --token-file token --timeout 60 --port-file exec.port &\n"
                   "  netlab probe --wait 5 --port-file exec.port\n"
                   "  netlab exec-client \"$(cat exec.port)\" --token-file token -- ls -l /\n"
                   "  netlab exec-server 0.0.0.0:8443 --tls --token-file token &");
  return [options] { return run_exec_server(*options); };
}

} // namespace netlab::cmd
