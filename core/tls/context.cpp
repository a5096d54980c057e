// SSL_CTX construction: protocol floor, trust anchors, our key and certificate (from files or made
// in memory), ALPN, and the server-side limits a stranger's handshake runs into.
#include "core/tls/context.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "core/tls/certificate.hpp"
#include "core/tls/psk.hpp"

namespace netlab::tls {
namespace {

// Largest certificate chain a peer may send us; the default (100 KiB) is generous for a handshake
// from anyone on the network.
constexpr long k_max_cert_list = 32 * 1024;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};

Result<void> add_san(X509* cert, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, value);
  if (ext == nullptr) {
    return fail(take_error("make subjectAltName"));
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return {};
}

// A throwaway P-256 key and a certificate for localhost, 127.0.0.1 and ::1, valid for a day.
Result<void> use_self_signed(SSL_CTX* ctx) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert) {
    return fail(take_error("make a key"));
  }
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    return fail(take_error("random serial"));
  }
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  ASN1_INTEGER* asn1 = BN_to_ASN1_INTEGER(number, nullptr);
  BN_free(number);
  X509_set_serialNumber(cert.get(), asn1);
  ASN1_INTEGER_free(asn1);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("netlab self-signed"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  NETLAB_TRY_VOID(add_san(cert.get(), "DNS:localhost,IP:127.0.0.1,IP:::1"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return fail(take_error("sign the certificate"));
  }
  if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return fail(take_error("use the self-signed certificate"));
  }
  return {};
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned in_len,
                void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_len, reinterpret_cast<const unsigned char*>(ours->data()),
                            static_cast<unsigned>(ours->size()), in, in_len) != OPENSSL_NPN_NEGOTIATED) {
    // No protocol in common: carry on without ALPN rather than refuse (RFC 7301 allows either).
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

} // namespace

struct PskCallbacks {
  static const Context* of(SSL* ssl) { return static_cast<const Context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))); }

  static SSL_SESSION* session(SSL* ssl, const std::string& key) {
    // TLS_AES_128_GCM_SHA256: the PSK's hash must be SHA-256 (RFC 8446 §4.2.11).
    static const unsigned char k_aes128gcm_sha256[] = {0x13, 0x01};
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, k_aes128gcm_sha256);
    SSL_SESSION* made = SSL_SESSION_new();
    if (cipher == nullptr || made == nullptr ||
        SSL_SESSION_set1_master_key(made, reinterpret_cast<const unsigned char*>(key.data()), key.size()) != 1 ||
        SSL_SESSION_set_cipher(made, cipher) != 1 || SSL_SESSION_set_protocol_version(made, TLS1_3_VERSION) != 1) {
      SSL_SESSION_free(made);
      return nullptr;
    }
    return made;
  }

  static int use(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* id_len, SSL_SESSION** out) {
    *out = nullptr;
    if (md != nullptr && EVP_MD_get_type(md) != NID_sha256) {
      return 1; // a second call for another hash: we have no key for it
    }
    SSL_SESSION* made = session(ssl, of(ssl)->m_psk);
    if (made == nullptr) {
      return 0;
    }
    *id = reinterpret_cast<const unsigned char*>(k_psk_identity.data());
    *id_len = k_psk_identity.size();
    *out = made;
    return 1;
  }

  static int find(SSL* ssl, const unsigned char* identity, std::size_t identity_len, SSL_SESSION** out) {
    *out = nullptr;
    if (std::string_view(reinterpret_cast<const char*>(identity), identity_len) != k_psk_identity) {
      return 1; // unknown identity: no PSK, and without a certificate the handshake then fails
    }
    SSL_SESSION* made = session(ssl, of(ssl)->m_psk);
    if (made == nullptr) {
      return 0;
    }
    *out = made;
    return 1;
  }
};

std::string take_error(const std::string& fallback) {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) {
    return fallback;
  }
  const char* reason = ERR_reason_error_string(code);
  if (reason == nullptr) {
    return fmt::format("{} (OpenSSL error {:#x})", fallback, code);
  }
  return reason;
}

Context::~Context() { SSL_CTX_free(m_ctx); }

Result<std::shared_ptr<Context>> Context::create(const ContextConfig& options) {
  std::shared_ptr<Context> context(new Context());
  context->m_role = options.role;
  context->m_verify = options.verify;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(options.role == Role::server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) {
    return fail(take_error("make a TLS context"));
  }
  context->m_ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, options.min_version == MinVersion::tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // No renegotiation (a peer could make us redo handshakes forever) and no session cache on our
  // side (memory a stranger could fill).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_max_cert_list(ctx, k_max_cert_list);
  if (options.role == Role::server) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  // The TLS 1.3 suites OpenSSL offers, AES-128-GCM first (OpenSSL puts AES-256 first): as strong
  // as TLS 1.3 requires, and with AES-NI it does 10 AES rounds per block where AES-256 does 14,
  // which streaming measured (docs/benchmarks-tls.md). Servers choose, by the preference above.
  if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") !=
      1) {
    return fail(take_error("set the TLS 1.3 ciphers"));
  }
  if (!options.psk.empty()) {
    if (options.psk.size() != k_psk_size) {
      return fail("TLS pre-shared key: must be 32 bytes");
    }
    context->m_psk = options.psk;
    SSL_CTX_set_app_data(ctx, context.get());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    // psk_dhe_ke only (OpenSSL's default: SSL_OP_ALLOW_NO_DHE_KEX stays off), one cipher.
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1) {
      return fail(take_error("set the TLS 1.3 cipher"));
    }
    if (options.role == Role::client) {
      SSL_CTX_set_psk_use_session_callback(ctx, &PskCallbacks::use);
    } else {
      SSL_CTX_set_psk_find_session_callback(ctx, &PskCallbacks::find);
    }
  }
  if (options.self_signed) {
    NETLAB_TRY_VOID(use_self_signed(ctx));
  } else if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return fail(fmt::format("--tls-cert {}: {}", options.cert_file, take_error("cannot be read")));
    }
    const std::string& key_file = options.key_file.empty() ? options.cert_file : options.key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      auto reason = take_error("cannot be read");
      if (reason == "key values mismatch") {
        return fail(fmt::format("--tls-key {}: does not match --tls-cert {}", key_file, options.cert_file));
      }
      return fail(fmt::format("--tls-key {}: {}", key_file, reason));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail(fmt::format("--tls-key {}: does not match --tls-cert {}", key_file, options.cert_file));
    }
  }
  if (X509* own = SSL_CTX_get0_certificate(ctx)) {
    context->m_fingerprint = sha256_fingerprint(own);
  }
  if (options.role == Role::server && !options.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_file(ctx, options.client_ca_file.c_str()) != 1) {
      return fail(fmt::format("--tls-client-ca {}: {}", options.client_ca_file, take_error("cannot be read")));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (options.role == Role::client && !options.psk.empty()) {
    // Nothing is trusted: a server that ignores the key and shows a certificate is refused.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (options.role == Role::client) {
    if (!options.ca_file.empty()) {
      if (SSL_CTX_load_verify_file(ctx, options.ca_file.c_str()) != 1) {
        return fail(fmt::format("--tls-ca {}: {}", options.ca_file, take_error("cannot be read")));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(take_error("load the system trust store"));
    }
    SSL_CTX_set_verify(ctx, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const auto& protocol : options.alpn) {
      if (protocol.empty() || protocol.size() > 255) {
        return fail(fmt::format("--alpn '{}': must be 1 to 255 bytes", protocol));
      }
      wire += static_cast<char>(protocol.size());
      wire += protocol;
    }
    context->m_alpn_wire = wire;
    if (options.role == Role::client) {
      if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                  static_cast<unsigned>(wire.size())) != 0) {
        return fail(take_error("set ALPN"));
      }
    } else {
      SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &context->m_alpn_wire);
    }
  }
  return context;
}

} // namespace netlab::tls
