#include "core/exec/session.hpp"

#include <netinet/in.h>

#include <fmt/format.h>

namespace netlab::exec::detail {

std::string throttle_key(const net::Connection& connection) {
  if (!connection.peer_address()) {
    return "unix";
  }
  const auto& endpoint = *connection.peer_address();
  const auto* sa = endpoint.sa();
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      std::string key = "v6:";
      for (int i = 0; i < 8; ++i) {
        key += fmt::format("{:02x}", in6->sin6_addr.s6_addr[i]);
      }
      return endpoint.is_loopback() ? "loopback" : key;
    }
    const auto* bytes = in6->sin6_addr.s6_addr + 12;
    return bytes[0] == 127 ? "loopback" : fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&in->sin_addr);
    return bytes[0] == 127 ? "loopback" : fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  return "other";
}

} // namespace netlab::exec::detail
