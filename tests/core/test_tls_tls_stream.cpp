// Unit tests for core/tls/tls_stream: TlsStream over real loopback sockets with the echo service,
// and the handshake deadline.
#include <catch2/catch.hpp>

#include <string>

#include "core/echo/echo_service.hpp"
#include "core/tls/tls_stream.hpp"
#include "tests/core/tls_fixture.hpp"

using namespace netlab;
using namespace netlab::testing;

TEST_CASE("TlsStream: the echo service over TLS, 1 MiB each way, and nothing left open", "[tls]") {
  LoopbackServer server;
  echo::EchoServiceConfig options;
  options.tls = server_context();
  server.serve(echo::make_echo_service(server.loop, options));
  const std::string sent(1 << 20, 'z');
  auto seen = exchange(server, std::move(tls::Session::client(client_context(false), "127.0.0.1").value()), sent);
  CHECK(seen.error.empty());
  CHECK(seen.peer_closed);
  CHECK(seen.received == sent);
  server.end();
}

TEST_CASE("TlsStream: a peer that never finishes its handshake is closed at the deadline", "[tls]") {
  LoopbackServer server;
  echo::EchoServiceConfig options;
  options.tls = server_context();
  options.handshake_timeout = netlab::Seconds(0.05);
  server.serve(echo::make_echo_service(server.loop, options));
  auto& tcp = server.tcp;
  bool closed_by_server = false;
  std::string answer;
  server.connect([&] {
    tcp->write(std::string("\x16\x03\x01\x00\x10", 5)); // a record header, then silence
    tcp->on_data([&](std::string_view data) { answer.append(data); });
    tcp->on_end([&] {
      closed_by_server = true;
      tcp->close();
      server.listener->close();
    });
    tcp->on_error([&](int) {
      closed_by_server = true;
      tcp->close();
      server.listener->close();
    });
    tcp->read_start();
  });
  server.loop.run();
  CHECK(closed_by_server);
  server.end();
}
