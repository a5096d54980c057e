// Unit tests for core/exec/session: what the sessions share (the auth throttle's key).
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "core/exec/session.hpp"
#include "core/loop/endpoint.hpp"
#include "core/net/address.hpp"
#include "core/net/server.hpp"

using namespace netlab;

namespace {

// A peer at HOST port 4000, parsed and resolved as netlab does for a numeric host.
loop::Endpoint peer(const std::string& host) {
  auto address = net::parse_address(host.find(':') == std::string::npos ? host + ":4000" : "[" + host + "]:4000");
  REQUIRE(address.ok());
  auto endpoints = net::resolve(*address);
  REQUIRE((endpoints.ok() && endpoints->size() == 1));
  return endpoints->front();
}

std::string key(std::optional<loop::Endpoint> address) {
  net::Connection connection(nullptr, "test", std::move(address));
  return exec::detail::throttle_key(connection);
}

} // namespace

TEST_CASE("exec throttle_key: failures count against the connection's peer address, whatever its stream is", "[exec]") {
  CHECK(key(peer("192.0.2.7")) == "192.0.2.7");
  CHECK(key(peer("192.0.2.8")) != key(peer("192.0.2.7")));
  CHECK(key(peer("::ffff:192.0.2.7")) == "192.0.2.7"); // a v4-mapped peer is the same host
  CHECK(key(std::nullopt) == "unix");
}

TEST_CASE("exec throttle_key: loopback is one address, and an IPv6 host is its /64", "[exec]") {
  CHECK(key(peer("127.0.0.1")) == "loopback");
  CHECK(key(peer("127.9.9.9")) == "loopback");
  CHECK(key(peer("::1")) == "loopback");
  CHECK(key(peer("2001:db8:1:2::1")) == key(peer("2001:db8:1:2:ffff::9")));
  CHECK(key(peer("2001:db8:1:2::1")) != key(peer("2001:db8:1:3::1")));
}
