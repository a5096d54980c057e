// One TLS connection without I/O: ciphertext in, plaintext out, and back. The bytes travel through
// a BIO of our own over the session's buffers, so the same engine serves libuv streams (TlsStream),
// blocking poll loops (echo-client, probe) and the fuzzer. The BIO, not OpenSSL's memory BIO,
// because the memory BIO costs a copy of every byte received (into the BIO before OpenSSL copies
// it again into its record buffer) and a memset of its whole buffer on every reset; ours lets
// OpenSSL read the caller's bytes where they lie and appends output to a string that keeps its
// capacity.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tls/certificate.hpp"
#include "core/tls/context.hpp"
#include "core/util/result.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace netlab::tls {

// Ciphertext held undecrypted between feeds. A conforming peer never needs more than one record
// (at most 16 KiB + 2 KiB of expansion + 5 header bytes) to stay pending; more is refused.
inline constexpr std::size_t k_max_pending_input = 20 * 1024;

struct SessionInfo {
  std::string version;                // "TLSv1.3"
  std::string cipher;                 // "TLS_AES_128_GCM_SHA256"
  std::string alpn;                   // empty when none was agreed
  std::vector<CertificateInfo> chain; // the peer's, leaf first; empty when it sent none
};

class Session {
public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A client. `host` is what the user connected to (name or IP literal); when the context
  // verifies, the certificate must be valid for `verify_name` if given, else for `host`.
  // `sni` is sent as server name (a name, never an IP literal); empty = host when it is a name.
  static Result<std::unique_ptr<Session>> client(std::shared_ptr<Context> context, const std::string& host,
                                                 const std::string& sni = {});
  static Result<std::unique_ptr<Session>> server(std::shared_ptr<Context> context);

  // Ciphertext from the peer; application bytes are appended to `plain` (no more than the
  // ciphertext's size). Fails, for good, on an alert, a protocol error, a failed verification or
  // more than k_max_pending_input of undecryptable input; take_output() may then hold an alert.
  Result<void> feed(std::string_view cipher, std::string& plain);
  // The transport ended. Fails when the peer did not send close_notify first (a cut the peer
  // did not mean, or an attacker's truncation) or when the handshake was unfinished.
  Result<void> feed_eof();
  // Application bytes to send. Before the handshake completes they wait inside the session.
  Result<void> write(std::string_view plain);
  // Queues close_notify after everything written so far.
  void close_notify();
  // Client: starts the handshake (the ClientHello goes to take_output()).
  Result<void> start();

  // Ciphertext for the network, moved out.
  std::string take_output();
  // The same without a copy: a view valid until the next call on this session, then
  // consume_output() once the bytes have been handed on.
  std::string_view output_view() const;
  void consume_output();
  std::size_t output_size() const;
  // Ciphertext received and not yet decrypted, held here (OpenSSL's own record buffer, bounded by
  // the largest record, aside); never more than k_max_pending_input.
  std::size_t input_buffered() const { return m_input.size() - m_input_at; }

  bool handshake_done() const { return m_handshake_done; }
  bool peer_closed() const { return m_peer_closed; }
  bool failed() const { return m_failed; }
  SessionInfo info() const;

private:
  Session() = default;
  // The setup client() and server() share: the SSL object and its BIOs.
  static Result<std::unique_ptr<Session>> make(std::shared_ptr<Context> context);
  // The BIO's methods (session.cpp); its data pointer is the session.
  static int bio_read(BIO* bio, char* out, int size);
  static int bio_write(BIO* bio, const char* in, int size);
  static long bio_ctrl(BIO* bio, int command, long number, void* pointer);
  Result<void> advance(std::string& plain);
  Result<void> write_now(std::string_view plain);
  Failure failure(int rc, const char* stage);

  std::shared_ptr<Context> m_context;
  SSL* m_ssl = nullptr;
  std::string m_input; // ciphertext held between feeds, from m_input_at on
  std::size_t m_input_at = 0;
  std::string_view m_feeding; // the caller's ciphertext during feed(), read in place
  std::string m_output;       // ciphertext for the network; cleared, never shrunk
  std::string m_early;        // plaintext written before the handshake finished
  std::string m_host;
  bool m_handshake_done = false;
  bool m_peer_closed = false;
  bool m_failed = false;
  bool m_sent_close = false;
};

} // namespace netlab::tls
