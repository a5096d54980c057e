// Which datagrams an echo server must leave unanswered because the answer would come back to it.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop/endpoint.hpp"

namespace netlab::udp {

// An IP address as 16 bytes, IPv4 in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so the two
// spellings of one IPv4 address on a dual-stack socket compare equal.
using IpBytes = std::array<std::uint8_t, 16>;

// `sa`'s address and port (AF_INET or AF_INET6; anything else yields port 0).
IpBytes ip_bytes(const sockaddr* sa);
std::uint16_t port_of(const sockaddr* sa);

// The ports of the classic UDP services that answer every datagram: echo (7), daytime (13), qotd
// (17), chargen (19) and time (37). chargen and the clocks answer with new text each time, so a
// loop with them is never a run of repeats EchoLoopBreaker could count.
bool is_reflector_port(std::uint16_t port);

// The reason a datagram from `from` must not be echoed, or nothing when it may be:
// - port 0: no answer can be addressed to it (the kernel refuses to send there);
// - a reflector port (is_reflector_port): the echo would start a loop with that service;
// - an unspecified source address (0.0.0.0, ::): sending to it reaches this host itself;
// - the server's own address and port, spoofed: the echo would arrive at the server again and
//   be echoed again, forever, from a single datagram. A server bound to a wildcard address
//   owns `port` on every local address, so any of `local` (and all of loopback) counts.
// `bound` is the server's own address as the kernel reports it; `local` the host's addresses.
std::optional<std::string_view> loop_refusal(const sockaddr* from, const loop::Endpoint& bound,
                                             const std::vector<IpBytes>& local);

// Breaks echo loops between two echo services (two netlab servers, or one and an inetd echo
// port), which forged datagrams start and loop_refusal cannot see: each datagram comes from the
// other server, not from this one. Such a peer sends back exactly what it was sent, at once and
// forever, and any number of datagrams can bounce between the two at the same time.
//
// So a datagram that repeats one of our recent answers to its sender is a repeat, and every
// `k_bounces`-th repeat, whoever sent it, is dropped. Our last `k_generation` to
// 2 * `k_generation` answers are remembered, each as a 64-bit digest of sender and content, in
// two fixed-size generations (memory is fixed; the table is indexed with a per-process random
// multiplier, so no sender can pick colliding entries). Every bounce of every loop is a repeat,
// so N loops end after about N * k_bounces bounces; other traffic in between does not reset the
// count, and to push a loop's answers out of memory a sender must make us answer `k_generation`
// datagrams between two of its bounces. A client that sends one payload over and over loses
// about one datagram in `k_bounces` repeats, which UDP clients retry anyway; one whose payloads
// differ is never dropped.
class EchoLoopBreaker {
public:
  static constexpr std::uint32_t k_bounces = 1000;
  static constexpr std::size_t k_generation = 32768;

  EchoLoopBreaker();

  // Whether to drop `data` arriving from `from` (call before answering).
  bool should_drop(const sockaddr* from, std::string_view data);
  // Records `reply` as what was sent back to `from`.
  void answered(const sockaddr* from, std::string_view reply);

private:
  // Open addressing at most half full; 0 marks an empty slot.
  static constexpr std::size_t k_slots = 2 * k_generation;
  std::size_t slot_of(std::uint64_t digest) const;
  bool holds(const std::vector<std::uint64_t>& table, std::uint64_t digest) const;

  std::uint64_t m_multiplier;
  std::vector<std::uint64_t> m_current;
  std::vector<std::uint64_t> m_previous;
  std::size_t m_added = 0;
  std::uint32_t m_repeats = 0;
};

// The addresses of this host's interfaces (getifaddrs), empty if they cannot be read.
std::vector<IpBytes> local_addresses();

} // namespace netlab::udp
