// Unit tests for core/udp/udp_server: how run_udp_server reports a failure.
#include <catch2/catch.hpp>

#include <optional>

#include "core/udp/udp_server.hpp"
#include "core/util/result.hpp"

using namespace netlab;

TEST_CASE("udp::run_udp_server: a socket it cannot open is a failed Result, not an exception", "[udp]") {
  // cmd/ refuses unix:/path for udp-echo; in core it is the one address whose UDP socket libuv
  // refuses every time (EINVAL), standing for any refused open (out of descriptors) without
  // taking the process's descriptors away.
  udp::UdpServerConfig config;
  config.address.kind = net::Address::Kind::unix_path;
  config.address.path = "/nonexistent/netlab-udp-test.sock";
  std::optional<Result<udp::ServerCounters>> result;
  REQUIRE_NOTHROW(result.emplace(udp::run_udp_server(config)));
  REQUIRE_FALSE(result->ok());
  CHECK(result->error() == "create UDP socket: invalid argument");
}
