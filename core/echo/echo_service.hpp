// The echo service (protocol.md §5): bytes in, the same bytes out, optionally upper-cased.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "core/net/server.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"

namespace netlab::echo {

struct EchoServiceConfig {
  bool upper = false;
  // Echoed bytes the peer has not read yet, per connection, before we stop reading from it.
  std::size_t max_buffered = 256 * 1024;
  // Told the size of each read once its echo is queued (select-server --stats); may be empty.
  std::function<void(std::size_t)> on_echo;
  // Serve TLS with this server context (null: plain bytes), and give a peer this long to finish
  // its handshake.
  std::shared_ptr<tls::Context> tls;
  Seconds handshake_timeout{10};
};

// ASCII upper-casing in place, as the classic teaching server's `data.upper()` does for ASCII.
void upper_ascii(char* data, std::size_t size);

// A Service for net::run_server.
std::unique_ptr<net::Service> make_echo_service(loop::Loop& loop, const EchoServiceConfig& options);

} // namespace netlab::echo
