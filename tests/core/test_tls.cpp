// Unit tests for core/tls: the session engine in memory (handshake, data, close_notify,
// verification, truncation) and TlsStream over real loopback sockets with the echo service.
#include <catch2/catch.hpp>

#include "core/echo/echo_service.hpp"
#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "core/crypto/digest.hpp"
#include "core/tls/context.hpp"
#include "core/tls/psk.hpp"
#include "core/tls/session.hpp"
#include "core/tls/terminator.hpp"
#include "core/tls/tls_stream.hpp"

using namespace netlab;

namespace {

std::shared_ptr<tls::Context> server_context() {
  tls::ContextOptions options;
  options.role = tls::Role::server;
  options.self_signed = true;
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

std::shared_ptr<tls::Context> client_context(bool verify) {
  tls::ContextOptions options;
  options.role = tls::Role::client;
  options.verify = verify;
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

// Moves bytes both ways until neither side has anything to say; returns false on a failure.
bool pump(tls::Session& client, tls::Session& server, std::string& client_plain, std::string& server_plain) {
  for (int round = 0; round < 20; ++round) {
    auto to_server = client.take_output();
    auto to_client = server.take_output();
    if (to_server.empty() && to_client.empty()) {
      return true;
    }
    if (!to_server.empty() && !server.feed(to_server, server_plain)) {
      return false;
    }
    if (!to_client.empty() && !client.feed(to_client, client_plain)) {
      return false;
    }
  }
  return false;
}

} // namespace

TEST_CASE("tls::Session: handshake, data both ways and close_notify in memory", "[tls]") {
  auto client = std::move(tls::Session::client(client_context(false), "127.0.0.1").value());
  auto server = std::move(tls::Session::server(server_context()).value());
  REQUIRE(client->start());
  REQUIRE(client->write("written before the handshake\n"));
  std::string client_plain;
  std::string server_plain;
  REQUIRE(pump(*client, *server, client_plain, server_plain));
  REQUIRE(client->handshake_done());
  REQUIRE(server->handshake_done());
  CHECK(server_plain == "written before the handshake\n");
  CHECK(client->info().version == "TLSv1.3");
  REQUIRE(client->info().chain.size() == 1);
  CHECK(client->info().chain[0].subject == "CN=netlab self-signed");
  CHECK(client->info().chain[0].days_left >= 0);
  CHECK(client->info().chain[0].days_left <= 1);
  REQUIRE(server->write(std::string(100000, 'x')));
  REQUIRE(pump(*client, *server, client_plain, server_plain));
  CHECK(client_plain == std::string(100000, 'x'));
  client->close_notify();
  REQUIRE(pump(*client, *server, client_plain, server_plain));
  CHECK(server->peer_closed());
  CHECK(server->feed_eof());
  // The client's side is still open: the server did not send close_notify, so an end of the
  // transport now is a truncation.
  CHECK_FALSE(client->feed_eof());
}

TEST_CASE("tls::Session: a client that verifies refuses a self-signed server, with a reason", "[tls]") {
  auto client = std::move(tls::Session::client(client_context(true), "127.0.0.1").value());
  auto server = std::move(tls::Session::server(server_context()).value());
  REQUIRE(client->start());
  std::string plain;
  std::string ignored;
  REQUIRE(server->feed(client->take_output(), ignored));
  auto answer = client->feed(server->take_output(), plain);
  REQUIRE_FALSE(answer);
  CHECK(answer.error() == "certificate of 127.0.0.1 not trusted: self-signed certificate");
  CHECK(plain.empty());
  // The alert tells the server why.
  auto alert = server->feed(client->take_output(), ignored);
  REQUIRE_FALSE(alert);
  CHECK(alert.error().find("alert") != std::string::npos);
  CHECK_FALSE(client->write("x"));
}

TEST_CASE("tls::Session: garbage and plain text are refused without output to the application", "[tls]") {
  auto server = std::move(tls::Session::server(server_context()).value());
  std::string plain;
  auto fed = server->feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", plain);
  REQUIRE_FALSE(fed);
  CHECK(plain.empty());
  CHECK(server->failed());
  CHECK_FALSE(server->feed("more", plain));
}

TEST_CASE("TlsStream: the echo service over TLS, 1 MiB each way, and nothing left open", "[tls]") {
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = 0});
  echo::EchoOptions options;
  options.tls = server_context();
  auto service = echo::make_echo_service(loop, options);
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  REQUIRE(listener.ok());
  auto& server = **listener;
  REQUIRE(server.start([&] { service->on_connection(tracker.add(server.accept(), "test")); }));

  auto tcp = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  const std::string sent(1 << 20, 'z');
  std::string received;
  bool ended = false;
  std::string error;
  REQUIRE(tcp->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    auto client = tls::TlsStream::wrap(loop, tcp, std::move(tls::Session::client(client_context(false), "127.0.0.1").value()), 10);
    auto* c = client.get();
    client->on_handshake([c, &sent]() {
      c->write(sent);
      c->shutdown();
    });
    client->on_data([&](std::string_view data) { received.append(data); });
    client->on_end([&, c] {
      ended = c->session().peer_closed();
      c->close();
      server.close();
    });
    client->on_error([&](const std::string& why) {
      error = why;
      server.close();
    });
    REQUIRE(client->start() == 0);
  }) == 0);
  loop.run();
  CHECK(error.empty());
  CHECK(ended);
  CHECK(received == sent);
  tracker.close_all();
  REQUIRE(loop.close_all() == 0);
}

TEST_CASE("TlsStream: a peer that never finishes its handshake is closed at the deadline", "[tls]") {
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = 0});
  echo::EchoOptions options;
  options.tls = server_context();
  options.handshake_timeout = 0.05;
  auto service = echo::make_echo_service(loop, options);
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  auto& server = **listener;
  REQUIRE(server.start([&] { service->on_connection(tracker.add(server.accept(), "test")); }));
  auto tcp = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  bool closed_by_server = false;
  std::string answer;
  REQUIRE(tcp->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    tcp->write(std::string("\x16\x03\x01\x00\x10", 5)); // a record header, then silence
    tcp->on_data([&](std::string_view data) { answer.append(data); });
    tcp->on_end([&] {
      closed_by_server = true;
      tcp->close();
      server.close();
    });
    tcp->on_error([&](int) {
      closed_by_server = true;
      tcp->close();
      server.close();
    });
    tcp->read_start();
  }) == 0);
  loop.run();
  CHECK(closed_by_server);
  tracker.close_all();
  REQUIRE(loop.close_all() == 0);
  CHECK(count == 0);
}

namespace {

std::shared_ptr<tls::Context> psk_context(tls::Role role, std::string_view token) {
  tls::ContextOptions options;
  options.role = role;
  options.min_version = tls::MinVersion::tls13;
  options.psk = tls::derive_psk(token).value();
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

} // namespace

TEST_CASE("tls::derive_psk: HKDF-SHA256 of the token with netlab's label (RFC 5869 by hand in Python agrees)",
          "[tls]") {
  auto key = tls::derive_psk("0123456789abcdef-token");
  REQUIRE(key.ok());
  CHECK(crypto::to_hex(*key) == "d7215b07a64e40485664e1e69b4fcb6ea5fc42811aa5066ac11d32b73f33584c");
  CHECK_FALSE(tls::derive_psk("").ok());
}

TEST_CASE("tls::Session: TLS 1.3 external PSK, same token: a handshake without certificates", "[tls]") {
  auto client = std::move(tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1").value());
  auto server = std::move(tls::Session::server(psk_context(tls::Role::server, "the shared token!")).value());
  REQUIRE(client->start());
  REQUIRE(client->write("exec frames"));
  std::string client_plain;
  std::string server_plain;
  REQUIRE(pump(*client, *server, client_plain, server_plain));
  REQUIRE(client->handshake_done());
  REQUIRE(server->handshake_done());
  CHECK(server_plain == "exec frames");
  CHECK(client->info().version == "TLSv1.3");
  CHECK(client->info().cipher == "TLS_AES_128_GCM_SHA256");
  CHECK(client->info().chain.empty());
}

TEST_CASE("tls::Session: PSK with a different token fails on both sides, nothing delivered", "[tls]") {
  auto client = std::move(tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1").value());
  auto server = std::move(tls::Session::server(psk_context(tls::Role::server, "another token....")).value());
  REQUIRE(client->start());
  REQUIRE(client->write("rm -rf"));
  std::string client_plain;
  std::string server_plain;
  CHECK_FALSE(pump(*client, *server, client_plain, server_plain));
  CHECK_FALSE(server->handshake_done());
  CHECK_FALSE(client->handshake_done());
  CHECK(server_plain.empty());
}

TEST_CASE("tls::Session: a PSK client refuses a server that answers with a certificate instead", "[tls]") {
  // A relay that does not know the token but has some certificate cannot stand in for the server.
  auto client = std::move(tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1").value());
  auto server = std::move(tls::Session::server(server_context()).value());
  REQUIRE(client->start());
  std::string client_plain;
  std::string server_plain;
  CHECK_FALSE(pump(*client, *server, client_plain, server_plain));
  CHECK_FALSE(client->handshake_done());
}

TEST_CASE("tls::make_terminating_service: a plain service behind TLS, half-close and close both ways", "[tls]") {
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = 0});
  auto service = tls::make_terminating_service(loop, psk_context(tls::Role::server, "the shared token!"), 10,
                                               echo::make_echo_service(loop, echo::EchoOptions{}));
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  REQUIRE(listener.ok());
  auto& server = **listener;
  REQUIRE(server.start([&] { service->on_connection(tracker.add(server.accept(), "test")); }));

  auto tcp = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  const std::string sent(1 << 20, 'p');
  std::string received;
  bool ended = false;
  std::string error;
  REQUIRE(tcp->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    auto session = tls::Session::client(psk_context(tls::Role::client, "the shared token!"), "127.0.0.1");
    auto client = tls::TlsStream::wrap(loop, tcp, std::move(session.value()), 10);
    auto* c = client.get();
    client->on_handshake([c, &sent]() {
      c->write(sent);
      c->shutdown();
    });
    client->on_data([&](std::string_view data) { received.append(data); });
    client->on_end([&, c] {
      ended = c->session().peer_closed();
      c->close();
      server.close();
    });
    client->on_error([&](const std::string& why) {
      error = why;
      server.close();
    });
    REQUIRE(client->start() == 0);
  }) == 0);
  loop.run();
  CHECK(error.empty());
  CHECK(ended);
  CHECK(received == sent);
  tracker.close_all();
  REQUIRE(loop.close_all() == 0);
  CHECK(count == 0);
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
  int seen = 0;
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = 0});
  auto service = tls::make_terminating_service(loop, psk_context(tls::Role::server, "the shared token!"), 10,
                                               std::make_unique<Counting>(&seen));
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  auto& server = **listener;
  REQUIRE(server.start([&] { service->on_connection(tracker.add(server.accept(), "test")); }));
  auto tcp = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  std::string error;
  REQUIRE(tcp->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    auto session = tls::Session::client(psk_context(tls::Role::client, "a guessed token.."), "127.0.0.1");
    auto client = tls::TlsStream::wrap(loop, tcp, std::move(session.value()), 10);
    client->on_handshake([&] { server.close(); });
    client->on_end([&] { server.close(); });
    client->on_error([&](const std::string& why) {
      error = why;
      server.close();
    });
    REQUIRE(client->start() == 0);
  }) == 0);
  loop.run();
  CHECK_FALSE(error.empty());
  CHECK(seen == 0);
  tracker.close_all();
  REQUIRE(loop.close_all() == 0);
}
