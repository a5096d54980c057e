// Which datagrams an echo server must leave unanswered because the answer would come back to it.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/loop/endpoint.hpp"

namespace netlab::udp {

// An IP address as 16 bytes, IPv4 in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so the two
// spellings of one IPv4 address on a dual-stack socket compare equal.
using IpBytes = std::array<std::uint8_t, 16>;

// `sa`'s address and port (AF_INET or AF_INET6; anything else yields port 0).
IpBytes ip_bytes(const sockaddr* sa);
std::uint16_t port_of(const sockaddr* sa);

// The reason a datagram from `from` must not be echoed, or nothing when it may be:
// - port 0: no answer can be addressed to it (the kernel refuses to send there);
// - an unspecified source address (0.0.0.0, ::): sending to it reaches this host itself;
// - the server's own address and port, spoofed: the echo would arrive at the server again and
//   be echoed again, forever, from a single datagram. A server bound to a wildcard address
//   owns `port` on every local address, so any of `local` (and all of loopback) counts.
// `bound` is the server's own address as the kernel reports it; `local` the host's addresses.
std::optional<std::string_view> loop_refusal(const sockaddr* from, const loop::Endpoint& bound,
                                             const std::vector<IpBytes>& local);

// Breaks echo loops between two echo services (two netlab servers, or one and an inetd echo or
// chargen port), which one forged datagram starts and loop_refusal cannot see: each datagram comes
// from the other server, not from this one. Such a peer sends back exactly what it was sent, at
// once and forever; after `k_bounces` datagrams in a row from one source that equal our last
// answer to it, one is dropped, which ends the loop (a bounce needs both sides to answer). A
// client that sends one payload over and over loses one datagram in `k_bounces`, which UDP
// clients retry anyway. Memory is bounded: at most `k_sources` sources are remembered.
class EchoLoopBreaker {
public:
  static constexpr std::uint32_t k_bounces = 1000;
  static constexpr std::size_t k_sources = 4096;

  // Whether to drop `data` arriving from `from` (call before answering).
  bool should_drop(const sockaddr* from, std::string_view data);
  // Records `reply` as what was sent back to `from`.
  void answered(const sockaddr* from, std::string_view reply);

private:
  struct Source {
    std::size_t last_reply = 0;
    std::uint32_t bounces = 0;
  };
  std::unordered_map<std::string, Source> m_sources;
};

// The addresses of this host's interfaces (getifaddrs), empty if they cannot be read.
std::vector<IpBytes> local_addresses();

} // namespace netlab::udp
