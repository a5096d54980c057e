// Unit tests for core/tls/psk: the key derived from a token, and TLS 1.3 sessions that
// authenticate with it instead of certificates.
#include <catch2/catch.hpp>

#include "core/crypto/digest.hpp"
#include "core/tls/psk.hpp"
#include "tests/core/tls_fixture.hpp"

using namespace netlab;
using namespace netlab::testing;

TEST_CASE("tls::derive_psk: HKDF-SHA256 of the token with netlab's label (RFC 5869 by hand in Python agrees)",
          "[tls]") {
  auto key = tls::derive_psk("0123456789abcdef-token");
  REQUIRE(key.ok());
  CHECK(crypto::to_hex(*key) == "d7215b07a64e40485664e1e69b4fcb6ea5fc42811aa5066ac11d32b73f33584c");
  CHECK_FALSE(tls::derive_psk("").ok());
}

TEST_CASE("tls::Session: TLS 1.3 external PSK, same token: a handshake without certificates", "[tls]") {
  SessionPair pair(psk_context(tls::Role::client, "the shared token!"),
                   psk_context(tls::Role::server, "the shared token!"));
  auto& client = pair.client;
  REQUIRE(client->write("exec frames"));
  REQUIRE(pair.pump());
  REQUIRE(client->handshake_done());
  REQUIRE(pair.server->handshake_done());
  CHECK(pair.server_plain == "exec frames");
  CHECK(client->info().version == "TLSv1.3");
  CHECK(client->info().cipher == "TLS_AES_128_GCM_SHA256");
  CHECK(client->info().chain.empty());
}

TEST_CASE("tls::Session: PSK with a different token fails on both sides, nothing delivered", "[tls]") {
  SessionPair pair(psk_context(tls::Role::client, "the shared token!"),
                   psk_context(tls::Role::server, "another token...."));
  REQUIRE(pair.client->write("rm -rf"));
  CHECK_FALSE(pair.pump());
  CHECK_FALSE(pair.server->handshake_done());
  CHECK_FALSE(pair.client->handshake_done());
  CHECK(pair.server_plain.empty());
}

TEST_CASE("tls::Session: a PSK client refuses a server that answers with a certificate instead", "[tls]") {
  // A relay that does not know the token but has some certificate cannot stand in for the server.
  SessionPair pair(psk_context(tls::Role::client, "the shared token!"), server_context());
  CHECK_FALSE(pair.pump());
  CHECK_FALSE(pair.client->handshake_done());
}
