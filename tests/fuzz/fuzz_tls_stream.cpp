// libFuzzer target: the TLS engine's read path on the server side, as a stranger reaches it before
// any authentication. Input: one byte choosing the piece size (1..127, or all at once for 0) and,
// by its top bit, the server: certificate mode (echo-server --tls) or TLS 1.3 pre-shared key mode
// (exec-server --tls, whose PSK callback reads the identity the stranger sends); then the bytes a
// client sends, fed piece by piece; at the end the transport "closes".
// Checked: no application byte is ever delivered (the handshake cannot finish without the
// throwaway server key's peer, so anything decrypted would be a forgery); undecrypted input held
// stays within k_max_pending_input; our answers stay small (one server flight or an alert); once
// the session has failed it stays failed and yields nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/tls/context.hpp"
#include "core/tls/psk.hpp"
#include "core/tls/session.hpp"

namespace {

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

std::shared_ptr<netlab::tls::Context> server_context() {
  static auto context = [] {
    netlab::tls::ContextConfig options;
    options.role = netlab::tls::Role::server;
    options.self_signed = true; // a throwaway in-memory key
    options.alpn = {"h2", "http/1.1"};
    auto made = netlab::tls::Context::create(options);
    require(made.ok());
    return *made;
  }();
  return context;
}

std::shared_ptr<netlab::tls::Context> psk_context() {
  static auto context = [] {
    netlab::tls::ContextConfig options;
    options.role = netlab::tls::Role::server;
    options.min_version = netlab::tls::MinVersion::tls13;
    options.psk = netlab::tls::derive_psk("fuzzing token, never shared").value();
    auto made = netlab::tls::Context::create(options);
    require(made.ok());
    return *made;
  }();
  return context;
}

// A server's whole first flight (ServerHello to Finished with a P-256 certificate) is a few KiB.
constexpr std::size_t k_max_answer = 16 * 1024;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  auto made = netlab::tls::Session::server((data[0] & 0x80) != 0 ? psk_context() : server_context());
  require(made.ok());
  auto& session = **made;
  std::size_t piece = (data[0] & 0x7f) == 0 ? size : (data[0] & 0x7f);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  bool failed = false;
  while (!input.empty()) {
    auto chunk = input.substr(0, piece);
    input.remove_prefix(chunk.size());
    std::string plain;
    auto fed = session.feed(chunk, plain);
    require(plain.empty());
    require(session.input_buffered() <= netlab::tls::k_max_pending_input);
    require(session.output_size() <= k_max_answer);
    session.take_output();
    require(!session.handshake_done());
    if (failed) {
      require(!fed.ok());
    }
    if (!fed.ok()) {
      failed = true;
      require(session.failed());
    }
  }
  auto end = session.feed_eof();
  if (!failed) {
    require(!end.ok()); // an unfinished handshake never ends cleanly
  }
  return 0;
}
