// Unit tests for core/echo/echo_service: upper-casing and the echo service's back-pressure.
#include <catch2/catch.hpp>

#include "core/echo/echo_service.hpp"
#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;

TEST_CASE("echo::upper_ascii: ASCII only, bytes above 127 untouched", "[echo]") {
  std::string text = "hello, World! \xc3\xa9 z";
  echo::upper_ascii(text.data(), text.size());
  CHECK(text == "HELLO, WORLD! \xc3\xa9 Z");
}

TEST_CASE("echo service: a peer that does not read is not buffered without bound", "[echo]") {
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = netlab::Seconds(0)});
  echo::EchoServiceConfig options;
  options.max_buffered = 64 * 1024;
  auto service = echo::make_echo_service(loop, options);
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  REQUIRE(listener.ok());
  auto& server = **listener;
  std::shared_ptr<net::Connection> connection;
  REQUIRE(server.start([&] {
    connection = tracker.add(server.accept(), "test");
    REQUIRE(connection);
    service->on_connection(connection);
  }));

  // The client writes 32 MiB and reads nothing until the writes stall.
  auto client = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  std::size_t server_queue_max = 0;
  auto checker = loop::Timer::create(loop);
  std::size_t received = 0;
  const std::size_t total = 32u << 20;
  REQUIRE(client->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    std::string chunk(1 << 20, 'q');
    for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
      client->write(std::string(chunk));
    }
    checker->start(50, 50, [&] {
      server_queue_max = std::max(server_queue_max, connection->stream().write_queue_size());
      if (!client->reading()) {
        // Now drain everything and check that it all comes back.
        client->on_data([&](std::string_view data) {
          received += data.size();
          if (received == total) {
            client->close();
            checker->close();
            server.close();
          }
        });
        client->read_start();
      }
    });
  }) == 0);
  loop.run();
  CHECK(received == total);
  // Bound plus at most one read's worth (64 KiB) and what was already queued.
  CHECK(server_queue_max <= options.max_buffered + 2 * 64 * 1024);
  tracker.close_all();
  netlab::testing::require_clean_close(loop);
  CHECK(count == 0);
}
