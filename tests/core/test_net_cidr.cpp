// Unit tests for core/net/cidr: parsing, prefix edges, IPv4-mapped peers.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "core/net/cidr.hpp"

using namespace netlab;

namespace {

net::Cidr cidr(const char* text) {
  auto parsed = net::parse_cidr(text);
  INFO(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

net::IpAddress ip(const char* text) {
  sockaddr_storage storage{};
  if (std::strchr(text, ':') != nullptr) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &in->sin_addr) == 1);
  }
  auto address = net::ip_of(reinterpret_cast<const sockaddr*>(&storage));
  REQUIRE(address);
  return *address;
}

} // namespace

TEST_CASE("net::parse_cidr: accepted forms and their canonical text", "[cidr]") {
  CHECK(cidr("10.0.0.0/8").to_string() == "10.0.0.0/8");
  CHECK(cidr("192.168.1.5").to_string() == "192.168.1.5/32");
  CHECK(cidr("::1").to_string() == "::1/128");
  CHECK(cidr("::1/128").to_string() == "::1/128");
  CHECK(cidr("2001:db8::/32").to_string() == "2001:db8::/32");
  CHECK(cidr("2001:DB8:0:0::/32").to_string() == "2001:db8::/32");
  CHECK(cidr("0.0.0.0/0").to_string() == "0.0.0.0/0");
  CHECK(cidr("::/0").to_string() == "::/0");
  CHECK(cidr("10.0.0.0/08").prefix == 8);
  CHECK(cidr("10.0.0.0/8").network.v4);
  CHECK_FALSE(cidr("::/0").network.v4);
}

TEST_CASE("net::parse_cidr: IPv4-mapped blocks become IPv4 blocks", "[cidr]") {
  auto one = cidr("::ffff:10.1.2.3");
  CHECK(one.network.v4);
  CHECK(one.to_string() == "10.1.2.3/32");
  CHECK(cidr("::ffff:10.0.0.0/104").to_string() == "10.0.0.0/8");
  CHECK(cidr("::ffff:0.0.0.0/96").to_string() == "0.0.0.0/0");
  // Wider than the mapped range, the ffff is host bits: the message names the IPv6 block.
  auto wide = net::parse_cidr("::ffff:10.0.0.0/64");
  REQUIRE_FALSE(wide.ok());
  CHECK_THAT(wide.error(), Catch::Contains("did you mean ::/64?"));
}

TEST_CASE("net::parse_cidr: errors are one line and name the problem", "[cidr]") {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"", "empty CIDR"},
      {"10.0.0.0/33", "CIDR '10.0.0.0/33': prefix length 33 out of range for IPv4 (0-32)"},
      {"::/129", "CIDR '::/129': prefix length 129 out of range for IPv6 (0-128)"},
      {"::ffff:10.0.0.0/129", "out of range for IPv6 (0-128)"},
      {"10.0.0.0/99999999999999999999", "out of range for IPv4"},
      {"10.0.0.0/", "CIDR '10.0.0.0/': missing prefix length after '/'"},
      {"10.0.0.0/-1", "prefix length '-1' is not a number"},
      {"10.0.0.0/+8", "prefix length '+8' is not a number"},
      {"10.0.0.0/ 8", "is not a number"},
      {"10.0.0.0/8/9", "prefix length '8/9' is not a number"},
      {"10.0.0.256/32", "'10.0.0.256' is not an IPv4 or IPv6 address"},
      {"10.0.0/24", "'10.0.0' is not an IPv4 or IPv6 address"},
      {"example.org", "'example.org' is not an IPv4 or IPv6 address"},
      {"/8", "'' is not an IPv4 or IPv6 address"},
      {"[::1]/128", "is not an IPv4 or IPv6 address"},
      {"fe80::1%eth0/64", "is not an IPv4 or IPv6 address"},
      {"10.0.0.1/8", "CIDR '10.0.0.1/8': host bits set after the prefix (did you mean 10.0.0.0/8?)"},
      {"192.168.1.0/23", "did you mean 192.168.0.0/23?"},
      {"2001:db8::1/32", "did you mean 2001:db8::/32?"},
      {"2001:db8:0:c0::/57", "did you mean 2001:db8:0:80::/57?"},
      {"::ffff:10.0.0.1/104", "did you mean 10.0.0.0/8?"},
      {"0.0.0.1/0", "did you mean 0.0.0.0/0?"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto parsed = net::parse_cidr(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.error(), Catch::Contains(c.expect));
    CHECK(parsed.error().find('\n') == std::string::npos);
  }
}

TEST_CASE("net::Cidr::contains: prefix edges", "[cidr]") {
  SECTION("/0 matches its whole family and nothing else") {
    CHECK(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));
    CHECK(cidr("0.0.0.0/0").contains(ip("0.0.0.0")));
    CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
    CHECK(cidr("::/0").contains(ip("2001:db8::1")));
    CHECK_FALSE(cidr("::/0").contains(ip("127.0.0.1")));
  }
  SECTION("/32 and /128 match one address") {
    CHECK(cidr("192.168.1.5").contains(ip("192.168.1.5")));
    CHECK_FALSE(cidr("192.168.1.5/32").contains(ip("192.168.1.4")));
    CHECK_FALSE(cidr("192.168.1.5/32").contains(ip("192.168.1.6")));
    CHECK(cidr("::1/128").contains(ip("::1")));
    CHECK_FALSE(cidr("::1/128").contains(ip("::2")));
    CHECK_FALSE(cidr("::1/128").contains(ip("::")));
  }
  SECTION("/23 spans two /24s") {
    auto block = cidr("192.168.0.0/23");
    CHECK(block.contains(ip("192.168.0.0")));
    CHECK(block.contains(ip("192.168.1.255")));
    CHECK_FALSE(block.contains(ip("192.168.2.0")));
    CHECK_FALSE(block.contains(ip("192.167.255.255")));
  }
  SECTION("/57 cuts inside the eighth byte") {
    auto block = cidr("2001:db8:0:80::/57");
    CHECK(block.contains(ip("2001:db8:0:80::")));
    CHECK(block.contains(ip("2001:db8:0:ff:ffff:ffff:ffff:ffff")));
    CHECK_FALSE(block.contains(ip("2001:db8:0:7f:ffff:ffff:ffff:ffff")));
    CHECK_FALSE(block.contains(ip("2001:db8:0:100::")));
  }
  SECTION("/31 and /1") {
    CHECK(cidr("10.0.0.2/31").contains(ip("10.0.0.3")));
    CHECK_FALSE(cidr("10.0.0.2/31").contains(ip("10.0.0.4")));
    CHECK(cidr("128.0.0.0/1").contains(ip("200.1.1.1")));
    CHECK_FALSE(cidr("128.0.0.0/1").contains(ip("127.255.255.255")));
  }
}

TEST_CASE("net::ip_of: IPv4-mapped peers are IPv4 and match IPv4 rules", "[cidr]") {
  auto mapped = ip("::ffff:127.0.0.1");
  CHECK(mapped.v4);
  CHECK(mapped == ip("127.0.0.1"));
  CHECK(mapped.to_string() == "127.0.0.1");
  CHECK(cidr("127.0.0.0/8").contains(mapped));
  CHECK_FALSE(cidr("::/0").contains(mapped));
  CHECK(cidr("::ffff:127.0.0.0/104").contains(mapped));
  // ::1 is IPv6 loopback, not an IPv4 address.
  CHECK_FALSE(cidr("127.0.0.0/8").contains(ip("::1")));
  CHECK(ip("::1").to_string() == "::1");
}

TEST_CASE("net::ip_of: no IP for other families or no address", "[cidr]") {
  sockaddr_storage storage{};
  storage.ss_family = AF_UNIX;
  CHECK_FALSE(net::ip_of(reinterpret_cast<const sockaddr*>(&storage)));
  storage.ss_family = AF_UNSPEC;
  CHECK_FALSE(net::ip_of(reinterpret_cast<const sockaddr*>(&storage)));
  CHECK_FALSE(net::ip_of(nullptr));
}
