// The TLS options every TCP command shares, and the contexts they build.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/tls/context.hpp"

namespace netlab::cmd {

struct TlsClientOptions {
  bool tls = false;
  std::string ca_file;
  std::string sni;
  std::vector<std::string> alpn;
  bool insecure = false;
  bool show = false;
};

// --tls, --tls-ca FILE, --sni NAME, --alpn PROTO (repeatable), --tls-insecure; --tls-show with `show`.
void add_tls_client_options(CLI::App& app, TlsClientOptions& target, bool show);

// The client context, or null without --tls. Refuses TLS options given without --tls (usage
// error) and warns loudly on stderr when verification is turned off.
std::shared_ptr<tls::Context> tls_client_context(const TlsClientOptions& options,
                                                 tls::MinVersion min_version = tls::MinVersion::tls12);

struct TlsServerOptions {
  bool tls = false;
  std::string cert_file;
  std::string key_file;
  bool self_signed = false;
  double handshake_timeout_s = 10;
};

// --tls, --tls-cert FILE, --tls-key FILE, --tls-self-signed, --tls-handshake-timeout.
void add_tls_server_options(CLI::App& app, TlsServerOptions& target);

// The server context, or null without TLS. With --tls-self-signed, prints the certificate's
// SHA-256 fingerprint on stderr so a client can check it.
std::shared_ptr<tls::Context> tls_server_context(const TlsServerOptions& options,
                                                 tls::MinVersion min_version = tls::MinVersion::tls12);

} // namespace netlab::cmd
