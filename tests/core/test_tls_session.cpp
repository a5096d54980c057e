// Unit tests for core/tls/session: the I/O-free engine in memory (handshake, data, close_notify,
// verification, truncation, garbage).
#include <catch2/catch.hpp>

#include <string>

#include "core/tls/session.hpp"
#include "tests/core/tls_fixture.hpp"

using namespace netlab;
using namespace netlab::testing;

TEST_CASE("tls::Session: handshake, data both ways and close_notify in memory", "[tls]") {
  SessionPair pair(client_context(false), server_context());
  auto& client = pair.client;
  auto& server = pair.server;
  REQUIRE(client->write("written before the handshake\n"));
  REQUIRE(pair.pump());
  REQUIRE(client->handshake_done());
  REQUIRE(server->handshake_done());
  CHECK(pair.server_plain == "written before the handshake\n");
  CHECK(client->info().version == "TLSv1.3");
  REQUIRE(client->info().chain.size() == 1);
  CHECK(client->info().chain[0].subject == "CN=netlab self-signed");
  CHECK(client->info().chain[0].days_left >= 0);
  CHECK(client->info().chain[0].days_left <= 1);
  REQUIRE(server->write(std::string(100000, 'x')));
  REQUIRE(pair.pump());
  CHECK(pair.client_plain == std::string(100000, 'x'));
  client->close_notify();
  REQUIRE(pair.pump());
  CHECK(server->peer_closed());
  CHECK(server->feed_eof());
  // The client's side is still open: the server did not send close_notify, so an end of the
  // transport now is a truncation.
  CHECK_FALSE(client->feed_eof());
}

TEST_CASE("tls::Session: a client that verifies refuses a self-signed server, with a reason", "[tls]") {
  SessionPair pair(client_context(true), server_context());
  auto& client = pair.client;
  auto& server = pair.server;
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

TEST_CASE("tls::Session: certificates agree on AES-128-GCM, the fastest suite with AES-NI", "[tls]") {
  SessionPair pair(client_context(false), server_context());
  REQUIRE(pair.pump());
  CHECK(pair.client->info().cipher == "TLS_AES_128_GCM_SHA256");
  CHECK(pair.server->info().cipher == "TLS_AES_128_GCM_SHA256");
}

TEST_CASE("tls::Session: records fed a byte at a time or all at once arrive whole; nothing after close_notify",
          "[tls]") {
  SessionPair pair(client_context(false), server_context());
  REQUIRE(pair.pump());
  std::string sent;
  for (int i = 0; i < 100000; ++i) {
    sent += static_cast<char>('a' + i % 26);
  }
  REQUIRE(pair.server->write(sent));
  // The view and the moved-out string are the same bytes; consume_output() empties the queue.
  std::string cipher(pair.server->output_view());
  CHECK(cipher.size() == pair.server->output_size());
  pair.server->consume_output();
  CHECK(pair.server->output_size() == 0);
  CHECK(pair.server->output_view().empty());

  SECTION("a byte at a time: a partial record is held within the bound, and every byte arrives once") {
    std::string plain;
    for (char byte : cipher) {
      REQUIRE(pair.client->feed(std::string_view(&byte, 1), plain));
      CHECK(pair.client->input_buffered() <= tls::k_max_pending_input);
    }
    CHECK(plain == sent);
  }
  SECTION("all at once, then close_notify with trailing bytes in the same piece") {
    pair.server->close_notify();
    cipher += pair.server->take_output();
    cipher += "bytes after close_notify are not the peer's data";
    std::string plain;
    REQUIRE(pair.client->feed(cipher, plain));
    CHECK(plain == sent);
    CHECK(pair.client->peer_closed());
    CHECK(pair.client->input_buffered() == 0);
  }
}
