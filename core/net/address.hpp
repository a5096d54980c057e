// Addresses as users type them (HOST:PORT, [IPv6]:PORT, PORT, unix:/path) and as sockets need them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "core/loop/endpoint.hpp"
#include "core/util/result.hpp"

namespace netlab::net {

struct Address {
  enum class Kind { inet, unix_path };

  Kind kind = Kind::inet;
  std::string host; // without brackets; empty for unix sockets
  std::uint16_t port = 0;
  std::string path; // unix sockets only

  bool is_unix() const { return kind == Kind::unix_path; }
  // The canonical text form, which parse_address() reads back unchanged.
  std::string to_string() const;
};

struct AddressRules {
  // Whether `unix:/path` is meaningful for the caller (streams yes, UDP no).
  bool allow_unix = true;
  // Servers accept port 0 (an ephemeral port); clients need a real one.
  bool allow_port_zero = true;
};

// Parses one address; a bare PORT means 127.0.0.1:PORT so nothing listens off-loopback by accident.
Result<Address> parse_address(std::string_view text, AddressRules rules = {});

// Resolves an inet Address: numeric hosts directly, names through getaddrinfo (all results, in
// the resolver's order). A unix Address yields one AF_UNIX endpoint.
Result<std::vector<loop::Endpoint>> resolve(const Address& address, int socktype = SOCK_STREAM);

} // namespace netlab::net
