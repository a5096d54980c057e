// Unit tests for core/loop/tcp: a real loopback connection through a listener, and a refused one.
#include <catch2/catch.hpp>

#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

namespace {

net::Address loopback_any_port() { return *net::parse_address("127.0.0.1:0"); }

} // namespace

TEST_CASE("loop::Tcp: connect, echo 1 MiB through a listener, half-close", "[loop]") {
  loop::Loop loop;
  auto listener = net::Listener::open(loop, loopback_any_port());
  REQUIRE(listener.ok());
  auto& server = **listener;
  std::shared_ptr<loop::Stream> accepted;
  int server_ends = 0;
  REQUIRE(server.start([&] {
    accepted = server.accept();
    REQUIRE(accepted);
    accepted->on_data([&](std::string_view data) { accepted->write(data); });
    accepted->on_end([&] {
      ++server_ends;
      accepted->shutdown([&](int) { accepted->close(); });
    });
    accepted->read_start();
  }));

  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>((i * 131) >> 3);
  }
  std::string received;
  int client_end = 0;
  auto client = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  REQUIRE(endpoint.ok());
  REQUIRE(client->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    client->on_data([&](std::string_view data) { received.append(data); });
    client->on_end([&] {
      ++client_end;
      client->close();
      server.close();
    });
    client->read_start();
    REQUIRE(client->write(std::string(payload)) == 0);
    REQUIRE(client->shutdown() == 0);
  }) == 0);
  loop.run();
  CHECK(server_ends == 1);
  CHECK(client_end == 1);
  CHECK(received == payload);
  require_clean_close(loop);
}

TEST_CASE("loop::Tcp: connection refused reaches the callback", "[loop]") {
  loop::Loop loop;
  // Bind a port and close it again to get one nobody listens on.
  int port = 0;
  {
    auto probe = net::Listener::open(loop, loopback_any_port());
    REQUIRE(probe.ok());
    REQUIRE((*probe)->start([] {}));
    port = (*probe)->port();
  }
  int status_seen = 0;
  auto client = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(port)));
  REQUIRE(client->connect(endpoint->front(), [&](int status) {
    status_seen = status;
    client->close();
  }) == 0);
  loop.run();
  CHECK(status_seen == UV_ECONNREFUSED);
  require_clean_close(loop);
}
