// Unit tests for core/exec/session: what the sessions share (the auth throttle's key).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>
#include <string>

#include "core/exec/session.hpp"
#include "core/loop/endpoint.hpp"
#include "core/net/server.hpp"

using namespace netlab;

namespace {

loop::Endpoint v4(const char* text) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(4000);
  REQUIRE(::inet_pton(AF_INET, text, &in.sin_addr) == 1);
  return loop::endpoint_from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

loop::Endpoint v6(const char* text) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(4000);
  REQUIRE(::inet_pton(AF_INET6, text, &in6.sin6_addr) == 1);
  return loop::endpoint_from(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
}

std::string key(std::optional<loop::Endpoint> address) {
  net::Connection connection(nullptr, "test", std::move(address));
  return exec::detail::throttle_key(connection);
}

} // namespace

TEST_CASE("exec throttle_key: failures count against the connection's peer address, whatever its stream is", "[exec]") {
  CHECK(key(v4("192.0.2.7")) == "192.0.2.7");
  CHECK(key(v4("192.0.2.8")) != key(v4("192.0.2.7")));
  CHECK(key(v6("::ffff:192.0.2.7")) == "192.0.2.7"); // a v4-mapped peer is the same host
  CHECK(key(std::nullopt) == "unix");
}

TEST_CASE("exec throttle_key: loopback is one address, and an IPv6 host is its /64", "[exec]") {
  CHECK(key(v4("127.0.0.1")) == "loopback");
  CHECK(key(v4("127.9.9.9")) == "loopback");
  CHECK(key(v6("::1")) == "loopback");
  CHECK(key(v6("2001:db8:1:2::1")) == key(v6("2001:db8:1:2:ffff::9")));
  CHECK(key(v6("2001:db8:1:2::1")) != key(v6("2001:db8:1:3::1")));
}
