// Unit tests for core/tls/terminator: TLS in front of a plain net::Service (exec-server --tls).
#include <catch2/catch.hpp>

#include <string>

#include "core/echo/echo_service.hpp"
#include "core/tls/terminator.hpp"
#include "tests/core/tls_fixture.hpp"

using namespace netlab;
using namespace netlab::testing;

TEST_CASE("tls::make_terminating_service: a plain service behind TLS, half-close and close both ways", "[tls]") {
  LoopbackServer server;
  server.serve(tls::make_terminating_service(server.loop, psk_context(tls::Role::server, "the shared token!"),
                                             netlab::Seconds(10),
                                             echo::make_echo_service(server.loop, echo::EchoServiceConfig{})));
  const std::string sent(1 << 20, 'p');
  auto session = tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1");
  auto seen = exchange(server, std::move(session.value()), sent);
  CHECK(seen.error.empty());
  CHECK(seen.peer_closed);
  CHECK(seen.received == sent);
  server.end();
}

TEST_CASE("tls::make_terminating_service: a wrong key never reaches the inner service", "[tls]") {
  struct Counting : net::Service {
    int* seen;
    explicit Counting(int* s) : seen(s) {}
    void on_connection(const std::shared_ptr<net::Connection>& connection) override {
      ++*seen;
      connection->stream().close();
    }
  };
  int reached = 0;
  LoopbackServer server;
  server.serve(tls::make_terminating_service(server.loop, psk_context(tls::Role::server, "the shared token!"),
                                             netlab::Seconds(10), std::make_unique<Counting>(&reached)));
  auto session = tls::Session::client(psk_context(tls::Role::client, "a guessed token.."), "127.0.0.1");
  auto seen = exchange(server, std::move(session.value()), "id\n");
  CHECK_FALSE(seen.error.empty());
  CHECK(seen.received.empty());
  CHECK(reached == 0);
  server.end();
}

TEST_CASE("tls::make_terminating_service: the inner connection carries the real peer's address, not the socketpair's",
          "[tls]") {
  // exec-server's auth throttle counts failures per peer address: behind TLS every client would
  // otherwise be "unix" (the bridge) and share one budget with an attacker.
  struct Recording : net::Service {
    std::optional<loop::Endpoint>* seen;
    explicit Recording(std::optional<loop::Endpoint>* s) : seen(s) {}
    void on_connection(const std::shared_ptr<net::Connection>& connection) override {
      *seen = connection->peer_address();
      // Read to the client's half-close; without an end callback the stream then closes.
      connection->stream().on_data([](std::string_view) {});
      connection->stream().read_start();
    }
  };
  std::optional<loop::Endpoint> seen;
  LoopbackServer server;
  server.serve(tls::make_terminating_service(server.loop, psk_context(tls::Role::server, "the shared token!"),
                                             netlab::Seconds(10), std::make_unique<Recording>(&seen)));
  auto session = tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1");
  exchange(server, std::move(session.value()), "id\n");
  REQUIRE(seen.has_value()); // the client's own TCP address, not a socketpair's (none)
  CHECK(seen->is_loopback());
  CHECK(seen->to_string().rfind("127.0.0.1:", 0) == 0);
  CHECK(seen->to_string() != "127.0.0.1:" + std::to_string(server.listener->port()));
  server.end();
}
