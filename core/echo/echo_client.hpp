// The echo client: a line client for any stream server, and a netcat-style raw mode.
#pragma once

#include <string>
#include <vector>

#include "core/net/address.hpp"

namespace netlab::echo {

struct ClientOptions {
  net::Address address;
  // Seconds allowed for connecting and for each reply (raw mode: for silence both ways); 0 = none.
  double timeout = 10;
  // Sent one by one instead of reading stdin.
  std::vector<std::string> messages;
  // Copy stdin to the socket and the socket to stdout at the same time, binary-safe.
  bool raw = false;
  // Prompt `>>: ` and skip empty lines (stdin is a terminal).
  bool interactive = false;
  int in_fd = 0;
  int out_fd = 1;
};

// Runs the client to completion. Throws ConnectError (exit 255) when the server cannot be
// reached, TimeoutError (124) when a reply does not come in time, Error (1) otherwise.
void run_echo_client(const ClientOptions& options);

} // namespace netlab::echo
