// Which datagrams an echo server must leave unanswered because the answer would come back to it.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/net/address.hpp"

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
std::optional<std::string_view> loop_refusal(const sockaddr* from, const net::Endpoint& bound,
                                             const std::vector<IpBytes>& local);

// The addresses of this host's interfaces (getifaddrs), empty if they cannot be read.
std::vector<IpBytes> local_addresses();

} // namespace netlab::udp
