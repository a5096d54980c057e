// Shared setup for the core/tls unit tests: contexts (self-signed, verifying, PSK), an in-memory
// client/server session pair that moves bytes until both sides are quiet, and a loopback server
// on a real loop for the TlsStream tests.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "core/net/server.hpp"
#include "core/tls/context.hpp"
#include "core/tls/psk.hpp"
#include "core/tls/session.hpp"
#include "core/tls/tls_stream.hpp"
#include "tests/core/loop_teardown.hpp"

namespace netlab::testing {

inline std::shared_ptr<tls::Context> server_context() {
  tls::ContextConfig options;
  options.role = tls::Role::server;
  options.self_signed = true;
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

inline std::shared_ptr<tls::Context> client_context(bool verify) {
  tls::ContextConfig options;
  options.role = tls::Role::client;
  options.verify = verify;
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

// TLS 1.3 with an external PSK derived from `token`, as exec-server --tls with a token.
inline std::shared_ptr<tls::Context> psk_context(tls::Role role, std::string_view token) {
  tls::ContextConfig options;
  options.role = role;
  options.min_version = tls::MinVersion::tls13;
  options.psk = tls::derive_psk(token).value();
  auto made = tls::Context::create(options);
  REQUIRE(made.ok());
  return *made;
}

// A client and a server session wired to each other in memory; the client has started.
struct SessionPair {
  SessionPair(std::shared_ptr<tls::Context> client_ctx, std::shared_ptr<tls::Context> server_ctx)
      : client(std::move(tls::Session::client(std::move(client_ctx), "127.0.0.1").value())),
        server(std::move(tls::Session::server(std::move(server_ctx)).value())) {
    REQUIRE(client->start());
  }

  // Moves bytes both ways until neither side has anything to say; false on a failure (or when
  // they are still talking after 20 rounds).
  bool pump() {
    for (int round = 0; round < 20; ++round) {
      auto to_server = client->take_output();
      auto to_client = server->take_output();
      if (to_server.empty() && to_client.empty()) {
        return true;
      }
      if (!to_server.empty() && !server->feed(to_server, server_plain)) {
        return false;
      }
      if (!to_client.empty() && !client->feed(to_client, client_plain)) {
        return false;
      }
    }
    return false;
  }

  std::unique_ptr<tls::Session> client;
  std::unique_ptr<tls::Session> server;
  std::string client_plain; // what the client's application received
  std::string server_plain; // what the server's application received
};

// A listener on 127.0.0.1 whose counted connections go to a service the test makes, and a
// client TCP handle to connect to it. end() closes what the test did not and checks the loop.
struct LoopbackServer {
  LoopbackServer() {
    auto opened = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
    REQUIRE(opened.ok());
    listener = std::move(*opened);
  }

  void serve(std::unique_ptr<net::Service> made) {
    service = std::move(made);
    REQUIRE(listener->start([this] { service->on_connection(tracker.add(listener->accept(), "test")); }));
  }

  // Connects the client; `connected` runs on the loop once the connection is up.
  void connect(std::function<void()> connected) {
    auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(listener->port())));
    REQUIRE(endpoint.ok());
    REQUIRE(tcp->connect(endpoint->front(), [connected = std::move(connected)](int status) {
      REQUIRE(status == 0);
      connected();
    }) == 0);
  }

  void end() {
    tracker.close_all();
    require_clean_close(loop);
    CHECK(count == 0);
  }

  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker{loop, count, net::ServerLimits{.max_conns = 4, .idle_timeout = netlab::Seconds(0)}};
  std::unique_ptr<net::Listener> listener;
  std::unique_ptr<net::Service> service;
  std::shared_ptr<loop::Tcp> tcp = loop::Tcp::create(loop);
};

// What a TLS client saw after sending `sent`, half-closing and reading until the end.
struct Exchange {
  std::string received;
  bool peer_closed = false; // the server sent close_notify before the end
  std::string error;
};

// Runs a TLS client with `session` over the server's connection: sends `sent` after the
// handshake, half-closes, collects what comes back, and stops the listener at the end or on error.
inline Exchange exchange(LoopbackServer& server, std::unique_ptr<tls::Session> session, const std::string& sent) {
  Exchange seen;
  server.connect([&] {
    auto client = tls::TlsStream::wrap(server.loop, server.tcp, std::move(session), netlab::Seconds(10));
    auto* c = client.get();
    client->on_handshake([c, &sent] {
      c->write(sent);
      c->shutdown();
    });
    client->on_data([&](std::string_view data) { seen.received.append(data); });
    client->on_end([&, c] {
      seen.peer_closed = c->session().peer_closed();
      c->close();
      server.listener->close();
    });
    client->on_error([&](const std::string& why) {
      seen.error = why;
      server.listener->close();
    });
    REQUIRE(client->start() == 0);
  });
  server.loop.run();
  return seen;
}

} // namespace netlab::testing
