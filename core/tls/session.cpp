// The TLS engine over a BIO of its own (session.hpp says why). Every OpenSSL call that can fail leaves its reason in the error
// queue; failure() turns it into one line and marks the session dead.
#include "core/tls/session.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

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

int Session::bio_read(BIO* bio, char* out, int size) {
  auto* self = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  std::size_t want = size > 0 ? static_cast<std::size_t>(size) : 0;
  std::size_t got = 0;
  if (self->m_input_at < self->m_input.size()) {
    got = std::min(want, self->m_input.size() - self->m_input_at);
    std::memcpy(out, self->m_input.data() + self->m_input_at, got);
    self->m_input_at += got;
    if (self->m_input_at == self->m_input.size()) {
      self->m_input.clear();
      self->m_input_at = 0;
    }
  }
  if (got < want && !self->m_feeding.empty()) {
    std::size_t piece = std::min(want - got, self->m_feeding.size());
    std::memcpy(out + got, self->m_feeding.data(), piece);
    self->m_feeding.remove_prefix(piece);
    got += piece;
  }
  if (got == 0) {
    // Nothing yet: "try again", which OpenSSL reports as SSL_ERROR_WANT_READ. The end of the
    // transport is told by feed_eof(), never by this BIO.
    BIO_set_retry_read(bio);
    return -1;
  }
  return static_cast<int>(got);
}

int Session::bio_write(BIO* bio, const char* in, int size) {
  auto* self = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size > 0) {
    self->m_output.append(in, static_cast<std::size_t>(size));
  }
  return size;
}

long Session::bio_ctrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  auto* self = static_cast<Session*>(BIO_get_data(bio));
  switch (command) {
  case BIO_CTRL_PENDING:
    return static_cast<long>(self->input_buffered() + self->m_feeding.size());
  case BIO_CTRL_WPENDING:
    return static_cast<long>(self->m_output.size());
  case BIO_CTRL_FLUSH:
    return 1;
  default:
    return 0;
  }
}

Result<std::unique_ptr<Session>> Session::make(std::shared_ptr<Context> context) {
  std::unique_ptr<Session> session(new Session());
  session->m_context = std::move(context);
  ERR_clear_error();
  // One BIO_METHOD for every session, made on first use (a function-local static, so thread-safe)
  // and kept for the process's life, as OpenSSL's own methods are.
  static BIO_METHOD* method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "netlab session");
    if (made != nullptr) {
      BIO_meth_set_read(made, &Session::bio_read);
      BIO_meth_set_write(made, &Session::bio_write);
      BIO_meth_set_ctrl(made, &Session::bio_ctrl);
      BIO_meth_set_create(made, [](BIO* bio) {
        BIO_set_init(bio, 1);
        return 1;
      });
    }
    return made;
  }();
  if (method == nullptr) {
    return fail(take_error("make a TLS session"));
  }
  session->m_ssl = SSL_new(session->m_context->native());
  BIO* in = BIO_new(method);
  BIO* out = BIO_new(method);
  if (session->m_ssl == nullptr || in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    return fail(take_error("make a TLS session"));
  }
  BIO_set_data(in, session.get());
  BIO_set_data(out, session.get());
  SSL_set_bio(session->m_ssl, in, out); // m_ssl owns both from here
  return session;
}

Result<std::unique_ptr<Session>> Session::client(std::shared_ptr<Context> context, const std::string& host,
                                                 const std::string& sni) {
  NETLAB_TRY(auto session, make(std::move(context)));
  session->m_host = host;
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
  NETLAB_TRY(auto session, make(std::move(context)));
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
  // OpenSSL reads `cipher` where it lies (bio_read); it takes all it can into its record buffer,
  // which a record longer than the protocol allows cannot overflow (record_overflow alert).
  m_feeding = cipher;
  auto advanced = advance(plain);
  std::string_view rest = m_feeding;
  m_feeding = {};
  NETLAB_TRY_VOID(advanced);
  if (rest.empty() || m_peer_closed) {
    return {}; // nothing after close_notify is authenticated data
  }
  // Left over only if OpenSSL stopped reading early; held for the next feed, within the bound.
  if (input_buffered() + rest.size() > k_max_pending_input) {
    m_failed = true;
    return fail(fmt::format("TLS read: peer sent more than {} bytes that do not decrypt", k_max_pending_input));
  }
  m_input.erase(0, m_input_at);
  m_input_at = 0;
  m_input.append(rest);
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
  out.swap(m_output);
  return out;
}

std::size_t Session::output_size() const { return m_output.size(); }

std::string_view Session::output_view() const { return m_output; }

// clear() keeps the capacity: the next records are written without an allocation.
void Session::consume_output() { m_output.clear(); }

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
