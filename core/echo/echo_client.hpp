// The echo client: a line client for any stream server, and a netcat-style raw mode.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/net/address.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::echo {

struct EchoClientConfig {
  net::Address address;
  // Allowed for connecting and for each reply (raw mode: for silence both ways); 0 = none.
  Seconds timeout{10};
  // Sent one by one instead of reading stdin.
  std::vector<std::string> messages;
  // Copy stdin to the socket and the socket to stdout at the same time, binary-safe.
  bool raw = false;
  // Prompt `>>: ` on `prompt_fd` (stderr: `> out` captures only replies), skip empty lines,
  // notice a server that closed while waiting for the next line, and end the prompt line on
  // Ctrl-C (stdin is a terminal).
  bool interactive = false;
  // TLS with this client context (null: plain bytes). The certificate must be valid for `sni`
  // when given (which is also sent as server name), else for the address's host.
  std::shared_ptr<tls::Context> tls;
  std::string sni;
  // Print the negotiated version, cipher, ALPN and the server's chain on `err_fd`.
  bool tls_show = false;
  int err_fd = 2;
  int in_fd = 0;
  int out_fd = 1;
  int prompt_fd = 2;
};

// Runs the client to completion. Fails with exit code 255 when the server cannot be reached or
// its TLS handshake fails (refused certificate, no common protocol), 124 when a reply does not
// come in time, 1 otherwise (including a TLS stream that ends without close_notify, which may
// have been cut short).
Result<void> run_echo_client(const EchoClientConfig& options);

} // namespace netlab::echo
