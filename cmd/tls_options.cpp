// Shared TLS options: the same names, help and checks in every command.
#include "cmd/tls_options.hpp"

#include "cmd/values.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::cmd {

void add_tls_client_options(CLI::App& app, TlsClientOptions& target, bool show) {
  app.add_flag("--tls", target.tls,
               "speak TLS 1.2+; the server's certificate chain and name are verified (system store or --tls-ca)");
  app.add_option("--tls-ca", target.ca_file, "trust only the CA certificates in FILE (PEM) instead of the system store")
      ->type_name("FILE");
  app.add_option("--sni", target.sni, "send NAME as TLS server name and verify the certificate for NAME, not the host")
      ->type_name("NAME");
  app.add_option("--alpn", target.alpn, "offer application protocol PROTO (repeatable, in order of preference)")
      ->type_name("PROTO");
  app.add_flag("--tls-insecure", target.insecure,
               "do NOT verify the server's certificate: anyone on the path can read and change the traffic");
  if (show) {
    app.add_flag("--tls-show", target.show,
                 "print the TLS version, cipher, ALPN and the server's certificate chain on stderr");
  }
}

std::shared_ptr<tls::Context> tls_client_context(const TlsClientOptions& options, tls::MinVersion min_version) {
  if (!options.tls) {
    const char* stray = !options.ca_file.empty() ? "--tls-ca"
                        : !options.sni.empty()   ? "--sni"
                        : !options.alpn.empty()  ? "--alpn"
                        : options.insecure       ? "--tls-insecure"
                        : options.show           ? "--tls-show"
                                                 : nullptr;
    if (stray != nullptr) {
      throw UsageError(fmt::format("{} needs --tls", stray));
    }
    return nullptr;
  }
  if (options.insecure && !options.ca_file.empty()) {
    throw UsageError("--tls-insecure and --tls-ca contradict each other");
  }
  tls::ContextConfig context;
  context.role = tls::Role::client;
  context.min_version = min_version;
  context.ca_file = options.ca_file;
  context.verify = !options.insecure;
  context.alpn = options.alpn;
  auto made = value_or_throw(tls::Context::create(context));
  if (options.insecure) {
    log::line("WARNING: --tls-insecure: the server's certificate is NOT verified; anyone on the path "
              "can read and change this connection");
  }
  return made;
}

void add_tls_server_options(CLI::App& app, TlsServerOptions& target) {
  app.add_flag("--tls", target.tls, "speak TLS 1.2+ with the certificate of --tls-cert/--tls-key");
  app.add_option("--tls-cert", target.cert_file, "certificate chain FILE (PEM, leaf first)")->type_name("FILE");
  app.add_option("--tls-key", target.key_file, "private key FILE (PEM) of --tls-cert")->type_name("FILE");
  app.add_flag("--tls-self-signed", target.self_signed,
               "TLS with a throwaway key and certificate made in memory (its SHA-256 fingerprint goes to stderr)");
  as_duration(app.add_option("--tls-handshake-timeout", target.handshake_timeout_s,
                             "close a connection whose TLS handshake is not done within this time")
                  ->capture_default_str(),
              {.min = 0, .above = true});
}

std::shared_ptr<tls::Context> tls_server_context(const TlsServerOptions& options, tls::MinVersion min_version) {
  bool files = !options.cert_file.empty() || !options.key_file.empty();
  if (!options.tls && !options.self_signed) {
    if (files) {
      throw UsageError(fmt::format("{} needs --tls", options.cert_file.empty() ? "--tls-key" : "--tls-cert"));
    }
    return nullptr;
  }
  if (options.self_signed && files) {
    throw UsageError("--tls-self-signed makes its own certificate; it does not take --tls-cert/--tls-key");
  }
  if (!options.self_signed && (options.cert_file.empty() || options.key_file.empty())) {
    throw UsageError("--tls needs --tls-cert FILE and --tls-key FILE (or --tls-self-signed)");
  }
  tls::ContextConfig context;
  context.role = tls::Role::server;
  context.min_version = min_version;
  context.cert_file = options.cert_file;
  context.key_file = options.key_file;
  context.self_signed = options.self_signed;
  auto made = value_or_throw(tls::Context::create(context));
  if (options.self_signed) {
    log::line(fmt::format("self-signed certificate for localhost, 127.0.0.1, ::1: sha256 {}", made->fingerprint()));
  }
  return made;
}

} // namespace netlab::cmd
