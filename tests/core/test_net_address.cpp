// Unit tests for core/net/address.
#include <catch2/catch.hpp>

#include "core/net/address.hpp"

using netlab::net::Address;
using netlab::net::parse_address;

TEST_CASE("net::parse_address: host:port, a bare port, bracketed IPv6 and unix: paths parse to their parts",
          "[address]") {
  auto a = parse_address("example.org:80");
  REQUIRE(a.ok());
  CHECK(a->host == "example.org");
  CHECK(a->port == 80);
  CHECK(a->to_string() == "example.org:80");

  auto bare = parse_address("8080");
  REQUIRE(bare.ok());
  CHECK(bare->host == "127.0.0.1");
  CHECK(bare->port == 8080);

  auto v6 = parse_address("[::1]:9000");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->to_string() == "[::1]:9000");

  auto unix_path = parse_address("unix:/tmp/x.sock");
  REQUIRE(unix_path.ok());
  CHECK(unix_path->is_unix());
  CHECK(unix_path->path == "/tmp/x.sock");
  CHECK(unix_path->to_string() == "unix:/tmp/x.sock");

  CHECK(parse_address("0").ok());
  CHECK(parse_address("65535").ok());
}

TEST_CASE("net::parse_address: errors name the problem", "[address]") {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (auto [text, expect] :
       {Case{"", "empty address"}, Case{"65536", "out of range"}, Case{"host:99999", "out of range"},
        Case{"host:", "missing port"}, Case{":80", "empty host"}, Case{"[::1:80", "missing ']'"},
        Case{"::1:80", "need brackets"}, Case{"[]:80", "empty host"}, Case{"[::1]80", "expected ':PORT'"},
        Case{"[nothex]:80", "not an IPv6"}, Case{"host:8o", "not a number"}, Case{"unix:", "empty socket path"},
        Case{"justahost", "missing port"}, Case{"tcp://host:80", "no scheme here; write HOST:PORT"},
        Case{"host:80/", "no path here; write host:80"}, Case{"/tmp/s.sock", "did you mean unix:/tmp/s.sock?"},
        Case{"./s.sock", "did you mean unix:./s.sock?"}}) {
    INFO(text);
    auto result = parse_address(text);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error(), Catch::Contains(expect));
  }
  std::string long_path = "unix:/" + std::string(200, 'x');
  CHECK_THAT(parse_address(long_path).error(), Catch::Contains("longer than"));
  CHECK_FALSE(parse_address("unix:/tmp/s", {.allow_unix = false}).ok());
  CHECK_THAT(parse_address("127.0.0.1:0", {.allow_unix = true, .allow_port_zero = false}).error(),
             Catch::Contains("port 0"));
}

TEST_CASE("net::resolve: numeric addresses, localhost and unix paths resolve; an unknown name fails", "[address]") {
  auto v4 = netlab::net::resolve(*parse_address("127.0.0.1:1234"));
  REQUIRE(v4.ok());
  CHECK(v4->front().to_string() == "127.0.0.1:1234");
  CHECK(v4->front().is_loopback());

  auto v6 = netlab::net::resolve(*parse_address("[::1]:5"));
  REQUIRE(v6.ok());
  CHECK(v6->front().to_string() == "[::1]:5");
  CHECK(v6->front().is_loopback());

  auto local = netlab::net::resolve(*parse_address("localhost:7"));
  REQUIRE(local.ok());
  CHECK(local->front().is_loopback());

  auto un = netlab::net::resolve(*parse_address("unix:/tmp/netlab-test.sock"));
  REQUIRE(un.ok());
  CHECK(un->front().to_string() == "unix:/tmp/netlab-test.sock");

  auto any = netlab::net::resolve(*parse_address("0.0.0.0:1"));
  REQUIRE(any.ok());
  CHECK_FALSE(any->front().is_loopback());

  CHECK_FALSE(netlab::net::resolve(*parse_address("no-such-host.invalid:1")).ok());
}
