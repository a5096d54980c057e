// CIDR parsing and matching.
#include "core/net/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace netlab::net {
namespace {

bool prefix_equal(const IpAddress& a, const IpAddress& b, unsigned prefix) {
  unsigned whole = prefix / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) {
    return false;
  }
  unsigned rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

IpAddress masked(IpAddress ip, unsigned prefix) {
  for (unsigned i = 0; i < ip.bytes.size(); ++i) {
    unsigned kept = prefix > i * 8 ? std::min(prefix - i * 8, 8u) : 0;
    ip.bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - kept));
  }
  return ip;
}

IpAddress from_v4(const void* raw) {
  IpAddress ip;
  ip.v4 = true;
  std::memcpy(ip.bytes.data(), raw, 4);
  return ip;
}

IpAddress from_v6(const in6_addr& raw) {
  if (IN6_IS_ADDR_V4MAPPED(&raw)) {
    return from_v4(raw.s6_addr + 12);
  }
  IpAddress ip;
  std::memcpy(ip.bytes.data(), raw.s6_addr, 16);
  return ip;
}

} // namespace

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof(text));
  return text;
}

std::optional<IpAddress> ip_of(const sockaddr* sa) {
  if (sa == nullptr) {
    return std::nullopt;
  }
  if (sa->sa_family == AF_INET) {
    return from_v4(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    return from_v6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
  }
  return std::nullopt;
}

bool Cidr::contains(const IpAddress& ip) const { return ip.v4 == network.v4 && prefix_equal(ip, network, prefix); }

std::string Cidr::to_string() const { return fmt::format("{}/{}", network.to_string(), prefix); }

Result<Cidr> parse_cidr(std::string_view text) {
  if (text.empty()) {
    return fail("empty CIDR (expected ADDRESS or ADDRESS/PREFIX, as in 10.0.0.0/8 or 2001:db8::/32)");
  }
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  Cidr cidr;
  in_addr v4{};
  in6_addr v6{};
  unsigned mapped_offset = 0;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    cidr.network = from_v4(&v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    cidr.network = from_v6(v6);
    mapped_offset = cidr.network.v4 ? 96 : 0;
  } else {
    return fail(fmt::format("CIDR '{}': '{}' is not an IPv4 or IPv6 address", text, host));
  }
  const unsigned written_bits = cidr.network.bits() + mapped_offset;
  cidr.prefix = written_bits;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty()) {
      return fail(fmt::format("CIDR '{}': missing prefix length after '/'", text));
    }
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(fmt::format("CIDR '{}': prefix length '{}' is not a number", text, digits));
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cidr.prefix);
    if (ec != std::errc{} || cidr.prefix > written_bits) {
      return fail(fmt::format("CIDR '{}': prefix length {} out of range for {} (0-{})", text, digits,
                              mapped_offset == 0 && cidr.network.v4 ? "IPv4" : "IPv6", written_bits));
    }
  }
  if (mapped_offset != 0) {
    if (cidr.prefix < mapped_offset) {
      // Wider than the mapped range, so the ffff is host bits: report it as the IPv6 block it is.
      cidr.network = IpAddress{};
      std::memcpy(cidr.network.bytes.data(), v6.s6_addr, 16);
    } else {
      cidr.prefix -= mapped_offset;
    }
  }
  if (auto network = masked(cidr.network, cidr.prefix); network != cidr.network) {
    return fail(fmt::format("CIDR '{}': host bits set after the prefix (did you mean {}?)", text,
                            Cidr{network, cidr.prefix}.to_string()));
  }
  return cidr;
}

} // namespace netlab::net
