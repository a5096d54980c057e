// The TLS engine over memory BIOs. Every OpenSSL call that can fail leaves its reason in the error
// queue; failure() turns it into one line and marks the session dead.
#include "core/tls/session.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

namespace netlab::tls {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

} // namespace

Session::~Session() { SSL_free(m_ssl); }

Result<std::unique_ptr<Session>> Session::client(std::shared_ptr<Context> context, const std::string& host,
                                                 const std::string& sni) {
  std::unique_ptr<Session> session(new Session());
  session->m_context = std::move(context);
  session->m_host = host;
  ERR_clear_error();
  session->m_ssl = SSL_new(session->m_context->native());
  session->m_in = BIO_new(BIO_s_mem());
  session->m_out = BIO_new(BIO_s_mem());
  if (session->m_ssl == nullptr || session->m_in == nullptr || session->m_out == nullptr) {
    BIO_free(session->m_in);
    BIO_free(session->m_out);
    return fail(take_error("make a TLS session"));
  }
  SSL_set_bio(session->m_ssl, session->m_in, session->m_out);
  SSL_set_connect_state(session->m_ssl);
  const std::string& name = sni.empty() ? host : sni;
  if (!is_ip_literal(name) && !name.empty()) {
    SSL_set_tlsext_host_name(session->m_ssl, name.c_str());
  }
  if (session->m_context->verifies()) {
    // The certificate must name what the user asked for: the --sni name if given, else the host.
    if (is_ip_literal(name)) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session->m_ssl), name.c_str()) != 1) {
        return fail(take_error("set the IP address to verify"));
      }
    } else if (SSL_set1_host(session->m_ssl, name.c_str()) != 1) {
      return fail(take_error("set the host name to verify"));
    }
  }
  return session;
}

Result<std::unique_ptr<Session>> Session::server(std::shared_ptr<Context> context) {
  std::unique_ptr<Session> session(new Session());
  session->m_context = std::move(context);
  ERR_clear_error();
  session->m_ssl = SSL_new(session->m_context->native());
  session->m_in = BIO_new(BIO_s_mem());
  session->m_out = BIO_new(BIO_s_mem());
  if (session->m_ssl == nullptr || session->m_in == nullptr || session->m_out == nullptr) {
    BIO_free(session->m_in);
    BIO_free(session->m_out);
    return fail(take_error("make a TLS session"));
  }
  SSL_set_bio(session->m_ssl, session->m_in, session->m_out);
  SSL_set_accept_state(session->m_ssl);
  return session;
}

Failure Session::failure(int rc, const char* stage) {
  m_failed = true;
  int kind = SSL_get_error(m_ssl, rc);
  long verified = SSL_get_verify_result(m_ssl);
  if (m_context->role() == Role::client && m_context->verifies() && verified != X509_V_OK) {
    ERR_clear_error();
    return fail(fmt::format("certificate of {} not trusted: {}", m_host, X509_verify_cert_error_string(verified)));
  }
  if (kind == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return fail(fmt::format("TLS {}: connection cut", stage));
  }
  return fail(fmt::format("TLS {}: {}", stage, take_error("protocol error")));
}

Result<void> Session::start() {
  std::string none;
  return advance(none);
}

Result<void> Session::advance(std::string& plain) {
  if (m_failed) {
    return fail("TLS session already failed");
  }
  if (!m_handshake_done) {
    ERR_clear_error();
    int rc = SSL_do_handshake(m_ssl);
    if (rc != 1) {
      int kind = SSL_get_error(m_ssl, rc);
      if (kind == SSL_ERROR_WANT_READ) {
        return {};
      }
      return failure(rc, "handshake");
    }
    if (m_context->uses_psk() && SSL_session_reused(m_ssl) != 1) {
      // Belt and braces: a handshake that did not use the key authenticated nobody.
      m_failed = true;
      return fail("TLS handshake: the peer did not use the pre-shared key");
    }
    m_handshake_done = true;
    if (!m_early.empty()) {
      std::string early = std::move(m_early);
      m_early.clear();
      NETLAB_TRY_VOID(write_now(early));
    }
    if (m_sent_close) {
      SSL_shutdown(m_ssl);
    }
  }
  char chunk[16 * 1024];
  while (!m_peer_closed) {
    std::size_t got = 0;
    ERR_clear_error();
    int rc = SSL_read_ex(m_ssl, chunk, sizeof(chunk), &got);
    if (rc == 1) {
      plain.append(chunk, got);
      continue;
    }
    int kind = SSL_get_error(m_ssl, rc);
    if (kind == SSL_ERROR_WANT_READ) {
      break;
    }
    if (kind == SSL_ERROR_ZERO_RETURN) {
      m_peer_closed = true;
      break;
    }
    return failure(rc, "read");
  }
  return {};
}

Result<void> Session::feed(std::string_view cipher, std::string& plain) {
  if (m_failed) {
    return fail("TLS session already failed");
  }
  // Feed at most one record's worth at a time, so the memory BIO never holds more than the
  // bound however much the caller passes in.
  while (!cipher.empty()) {
    std::size_t room = k_max_pending_input - BIO_ctrl_pending(m_in);
    std::size_t piece = std::min(cipher.size(), room);
    if (piece == 0) {
      m_failed = true;
      return fail(fmt::format("TLS read: peer sent more than {} bytes that do not decrypt", k_max_pending_input));
    }
    if (BIO_write(m_in, cipher.data(), static_cast<int>(piece)) != static_cast<int>(piece)) {
      m_failed = true;
      return fail(take_error("TLS read: buffer"));
    }
    cipher.remove_prefix(piece);
    NETLAB_TRY_VOID(advance(plain));
    if (m_peer_closed) {
      break; // nothing after close_notify is authenticated data
    }
  }
  return {};
}

Result<void> Session::feed_eof() {
  if (m_peer_closed || m_failed) {
    return {};
  }
  m_failed = true;
  if (!m_handshake_done) {
    return fail("TLS handshake: the peer closed the connection");
  }
  return fail("TLS read: the peer closed the connection without close_notify");
}

Result<void> Session::write(std::string_view plain) {
  if (m_failed) {
    return fail("TLS session already failed");
  }
  if (m_sent_close) {
    return fail("TLS write after close_notify");
  }
  if (!m_handshake_done) {
    m_early.append(plain);
    return {};
  }
  return write_now(plain);
}

Result<void> Session::write_now(std::string_view plain) {
  while (!plain.empty()) {
    std::size_t written = 0;
    ERR_clear_error();
    int rc = SSL_write_ex(m_ssl, plain.data(), plain.size(), &written);
    if (rc != 1) {
      return failure(rc, "write");
    }
    plain.remove_prefix(written);
  }
  return {};
}

void Session::close_notify() {
  if (m_sent_close || m_failed) {
    return;
  }
  m_sent_close = true;
  if (m_handshake_done && m_early.empty()) {
    ERR_clear_error();
    SSL_shutdown(m_ssl);
  }
}

std::string Session::take_output() {
  std::string out;
  std::size_t pending = BIO_ctrl_pending(m_out);
  if (pending > 0) {
    out.resize(pending);
    int got = BIO_read(m_out, out.data(), static_cast<int>(pending));
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  return out;
}

std::size_t Session::output_size() const { return BIO_ctrl_pending(m_out); }

std::string_view Session::output_view() const {
  char* data = nullptr;
  long size = BIO_get_mem_data(m_out, &data);
  return size > 0 ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
}

// A read-write memory BIO forgets its contents on reset.
void Session::consume_output() { (void)BIO_reset(m_out); }

std::size_t Session::input_buffered() const { return BIO_ctrl_pending(m_in); }

SessionInfo Session::info() const {
  SessionInfo info;
  info.version = SSL_get_version(m_ssl);
  const char* cipher = SSL_get_cipher_name(m_ssl);
  info.cipher = cipher != nullptr ? cipher : "";
  const unsigned char* alpn = nullptr;
  unsigned alpn_size = 0;
  SSL_get0_alpn_selected(m_ssl, &alpn, &alpn_size);
  if (alpn != nullptr) {
    info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_size);
  }
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(m_ssl);
  if (m_context->role() == Role::server) {
    // A server's peer chain leaves out the client's own certificate.
    if (X509* leaf = SSL_get0_peer_certificate(m_ssl)) {
      info.chain.push_back(describe(leaf));
    }
  }
  if (chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      info.chain.push_back(describe(sk_X509_value(chain, i)));
    }
  }
  return info;
}

} // namespace netlab::tls
