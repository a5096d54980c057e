// Endpoint's text form and loopback test.
#include "core/loop/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace netlab::loop {

Endpoint endpoint_from(const sockaddr* sa, socklen_t length) {
  Endpoint endpoint;
  length = std::min<socklen_t>(length, sizeof(endpoint.storage));
  std::memcpy(&endpoint.storage, sa, length);
  endpoint.length = length;
  return endpoint;
}

std::string Endpoint::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (family()) {
  case AF_INET: {
    auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(in->sin_port));
  }
  case AF_INET6: {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    return fmt::format("[{}]:{}", text, ntohs(in6->sin6_port));
  }
  case AF_UNIX: {
    auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    auto max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, max));
  }
  default:
    return "unknown";
  }
}

bool Endpoint::is_loopback() const {
  switch (family()) {
  case AF_INET: {
    auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  case AF_INET6: {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  case AF_UNIX:
    return true; // reachable only from this machine
  default:
    return false;
  }
}

std::uint16_t Endpoint::port() const {
  switch (family()) {
  case AF_INET:
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  case AF_INET6:
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  default:
    return 0;
  }
}

} // namespace netlab::loop
