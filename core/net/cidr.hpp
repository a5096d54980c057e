// IP addresses and CIDR blocks as access rules compare them (--allow-from, --deny-from).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "core/util/result.hpp"

namespace netlab::net {

// An IPv4 or IPv6 address without a port. A dual-stack socket reports IPv4 peers as
// ::ffff:a.b.c.d; those are stored as IPv4, so one rule and one per-address count cover a peer
// whichever socket it came in on.
struct IpAddress {
  bool v4 = false;
  // Network byte order; IPv4 uses the first 4 bytes and leaves the rest zero.
  std::array<std::uint8_t, 16> bytes{};

  unsigned bits() const { return v4 ? 32 : 128; }
  std::string to_string() const;
  auto operator<=>(const IpAddress&) const = default;
};

// The address of an AF_INET or AF_INET6 socket address; nullopt for anything else (unix sockets,
// or a peer whose address could not be read).
std::optional<IpAddress> ip_of(const sockaddr* sa);

// A block of addresses: those whose first `prefix` bits equal the network's.
struct Cidr {
  IpAddress network;
  unsigned prefix = 0;

  // IPv4 rules match only IPv4 peers (mapped ones included) and IPv6 rules only IPv6 peers, so
  // ::/0 means "every IPv6 peer", not "everyone".
  bool contains(const IpAddress& ip) const;
  std::string to_string() const;
};

// Parses "10.0.0.0/8", "2001:db8::/32", or a bare address meaning /32 or /128. An IPv4-mapped
// block (::ffff:10.0.0.0/104) becomes the IPv4 block it names. Set host bits
// ("10.0.0.1/8") are an error naming the intended network: such a rule is almost always a typo,
// and silently widening it would admit more than the user wrote.
Result<Cidr> parse_cidr(std::string_view text);

} // namespace netlab::net
