// Unit tests for core/loop/udp: datagrams keep their boundaries up to the largest one.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/loop/udp.hpp"
#include "core/net/address.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

TEST_CASE("loop::Udp: datagrams keep their boundaries", "[loop][udp]") {
  loop::Loop loop;
  auto server = loop::Udp::create(loop);
  auto any = net::resolve(*net::parse_address("127.0.0.1:0"), SOCK_DGRAM);
  REQUIRE(server->bind(any->front()) == 0);
  auto server_endpoint = server->local_endpoint();
  std::vector<std::string> seen;
  REQUIRE(server->recv_start([&](std::string_view data, const sockaddr* from, bool truncated) {
    CHECK_FALSE(truncated);
    seen.emplace_back(data);
    server->send(data, from);
  }) == 0);
  auto client = loop::Udp::create(loop);
  REQUIRE(client->bind(any->front()) == 0);
  std::vector<std::string> replies;
  REQUIRE(client->recv_start([&](std::string_view data, const sockaddr*, bool) {
    replies.emplace_back(data);
    if (replies.size() == 3) {
      client->close();
      server->close();
    }
  }) == 0);
  std::string big(loop::Udp::k_max_datagram, 'z');
  client->send("one", server_endpoint.sa());
  client->send("two", server_endpoint.sa());
  client->send(big, server_endpoint.sa());
  loop.run();
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "one");
  CHECK(replies[1] == "two");
  CHECK(replies[2] == big);
  require_clean_close(loop);
}
