// TLS contexts: one OpenSSL 3 SSL_CTX per role and configuration, built once and shared by every
// connection of a command. Verification is on unless the caller turns it off by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/util/result.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace netlab::tls {

enum class Role { client, server };

// The lowest protocol version accepted. echo/probe/bench accept TLS 1.2 and 1.3; exec only 1.3.
enum class MinVersion { tls12, tls13 };

struct ContextConfig {
  Role role = Role::client;
  MinVersion min_version = MinVersion::tls12;
  // PEM files: our certificate chain and its private key (server; client certificates too).
  std::string cert_file;
  std::string key_file;
  // Server only: a throwaway P-256 key and self-signed certificate made in memory, for experiments.
  bool self_signed = false;
  // Server: require a client certificate signed by a CA in this file (PEM); empty: ask for none.
  std::string client_ca_file;
  // Client: the trust anchors (PEM); empty means the system store.
  std::string ca_file;
  // Client: verify the peer's chain and name. Off only when the user said so.
  bool verify = true;
  // Protocols offered (client) or accepted, in our order of preference (server); empty = no ALPN.
  std::vector<std::string> alpn;
  // A key from derive_psk(): TLS 1.3 external PSK with (EC)DHE (psk_dhe_ke) under identity
  // k_psk_identity, cipher TLS_AES_128_GCM_SHA256. Forces TLS 1.3. A client then accepts only a
  // handshake that used the key (no certificate can stand in for it); a server without a
  // certificate accepts only clients that prove they hold it.
  std::string psk;
};

// Owns one SSL_CTX. Immutable after create(), so connections on several threads may share it.
class Context {
public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Errors name the file and OpenSSL's reason: "--tls-cert cert.pem: no start line".
  static Result<std::shared_ptr<Context>> create(const ContextConfig& options);

  SSL_CTX* native() const { return m_ctx; }
  Role role() const { return m_role; }
  bool verifies() const { return m_verify; }
  // SHA-256 of our own certificate (DER), as colon-separated upper-case hex; empty without one.
  const std::string& fingerprint() const { return m_fingerprint; }
  bool uses_psk() const { return !m_psk.empty(); }

private:
  Context() = default;
  SSL_CTX* m_ctx = nullptr;
  Role m_role = Role::client;
  bool m_verify = true;
  std::string m_fingerprint;
  std::string m_alpn_wire; // server: the accepted list in wire format, read by the ALPN callback
  std::string m_psk;
  friend struct PskCallbacks;
};

// The text of OpenSSL's error queue (most recent reason), emptying it; `fallback` when it is empty.
std::string take_error(const std::string& fallback);

} // namespace netlab::tls
