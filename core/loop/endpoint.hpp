// A resolved socket address, ready for bind/connect: the one address type the loop's handles take.
// Parsing what users type (HOST:PORT, unix:/path) and resolving names is net's job (core/net/address.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <sys/socket.h>

namespace netlab::loop {

struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  // 127.0.0.1:80, [::1]:80, unix:/path, or "unknown" for other families.
  std::string to_string() const;
  bool is_loopback() const;
  // 0 for families without ports.
  std::uint16_t port() const;
};

// Builds an endpoint from a peer or local socket address returned by the kernel; a `length`
// beyond sockaddr_storage is cut to it.
Endpoint endpoint_from(const sockaddr* sa, socklen_t length);

} // namespace netlab::loop
