// libFuzzer target: udp-echo's datagram path, the decisions it takes for any sender. Input: the
// sender (1 family byte, 16 address bytes, 2 port bytes), the server's bound address in the same
// form, one local address (16 bytes), then the payload. Checked: a datagram that is answered
// never has port 0, a port of echo, daytime, qotd, chargen or time, an unspecified address, or
// the server's own address and port as its answer's
// destination (nor, on a wildcard bind, any local or loopback address with the server's port);
// an IPv4 sender gets the same verdict in its IPv4-mapped IPv6 spelling; the --upper echo keeps
// the length and changes only a-z.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/echo/echo_service.hpp"
#include "core/udp/loop_guard.hpp"

namespace {

using netlab::udp::IpBytes;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

constexpr std::size_t k_addr = 19;

netlab::loop::Endpoint endpoint(const std::uint8_t* p, bool force_v6 = false) {
  netlab::loop::Endpoint e;
  std::uint16_t port = static_cast<std::uint16_t>(p[17] << 8 | p[18]);
  if ((p[0] & 1) == 0 && !force_v6) {
    auto* in = reinterpret_cast<sockaddr_in*>(&e.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, p + 1, 4);
    e.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, p + 1, 16);
    e.length = sizeof(sockaddr_in6);
  }
  return e;
}

// The same IPv4 sender as a dual-stack socket reports it.
netlab::loop::Endpoint mapped(const netlab::loop::Endpoint& v4) {
  netlab::loop::Endpoint e;
  const auto* in = reinterpret_cast<const sockaddr_in*>(v4.sa());
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = in->sin_port;
  in6->sin6_addr.s6_addr[10] = 0xff;
  in6->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
  e.length = sizeof(sockaddr_in6);
  return e;
}

bool unspecified(const IpBytes& ip) {
  static const IpBytes zero{};
  IpBytes mapped_zero{};
  mapped_zero[10] = mapped_zero[11] = 0xff;
  return ip == zero || ip == mapped_zero;
}

bool loopback(const IpBytes& ip) {
  IpBytes one{};
  one[15] = 1;
  bool v4 = std::all_of(ip.begin(), ip.begin() + 10, [](std::uint8_t b) { return b == 0; }) && ip[10] == 0xff &&
            ip[11] == 0xff;
  return ip == one || (v4 && ip[12] == 127);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 * k_addr + 16) {
    return 0;
  }
  auto from = endpoint(data);
  auto bound = endpoint(data + k_addr);
  IpBytes one_local{};
  std::memcpy(one_local.data(), data + 2 * k_addr, 16);
  std::vector<IpBytes> local = {one_local};
  std::string payload(reinterpret_cast<const char*>(data + 2 * k_addr + 16), size - 2 * k_addr - 16);

  auto verdict = netlab::udp::loop_refusal(from.sa(), bound, local);
  auto source = netlab::udp::ip_bytes(from.sa());
  auto own = netlab::udp::ip_bytes(bound.sa());
  if (!verdict) {
    require(from.port() != 0);
    // echo, daytime, qotd, chargen, time: they answer every datagram, so an echo would loop.
    for (std::uint16_t port : {7, 13, 17, 19, 37}) {
      require(from.port() != port);
    }
    require(!unspecified(source));
    if (from.port() == bound.port()) {
      require(source != own);
      if (unspecified(own)) {
        require(!loopback(source) && source != one_local);
      }
    }
  }
  if (from.family() == AF_INET) {
    auto as_v6 = mapped(from);
    require(netlab::udp::loop_refusal(as_v6.sa(), bound, local).has_value() == verdict.has_value());
  }

  std::string echoed = payload;
  netlab::echo::upper_ascii(echoed.data(), echoed.size());
  require(echoed.size() == payload.size());
  for (std::size_t i = 0; i < payload.size(); ++i) {
    char c = payload[i];
    require(echoed[i] == ((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c));
  }
  return 0;
}
