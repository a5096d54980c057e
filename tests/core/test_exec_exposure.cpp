// Unit tests for core/exec/exposure: who exec-server may be exposed to, asked the way an attacker
// would hope it answers (a wildcard or public address without TLS, token or with legacy).
#include <catch2/catch.hpp>

#include "core/exec/exposure.hpp"

using namespace netlab;
using namespace netlab::exec;

namespace {

ExposureConfig on(const std::string& text) {
  ExposureConfig config;
  config.address = *net::parse_address(text, {.allow_unix = true, .allow_port_zero = true});
  return config;
}

} // namespace

TEST_CASE("exec::check_exposure: loopback and unix sockets are open without token or TLS", "[exec]") {
  for (const char* text : {"127.0.0.1:0", "[::1]:0", "unix:/tmp/netlab-x.sock"}) {
    INFO(text);
    CHECK(check_exposure(on(text)).ok());
    auto legacy = on(text);
    legacy.legacy = true;
    CHECK(check_exposure(legacy).ok());
  }
}

TEST_CASE("exec::check_exposure: a wildcard address needs --tls and a token, and never legacy", "[exec]") {
  for (const char* text : {"0.0.0.0:0", "[::]:0"}) {
    INFO(text);
    auto plain = on(text);
    plain.token = true;
    auto refused = check_exposure(plain);
    REQUIRE(!refused);
    CHECK(refused.exit_code() == k_exit_usage);
    CHECK(refused.error().starts_with("refusing to serve non-loopback"));
    CHECK(refused.error().find("without --tls") != std::string::npos);

    auto tls_no_token = on(text);
    tls_no_token.tls = true;
    auto no_token = check_exposure(tls_no_token);
    REQUIRE(!no_token);
    CHECK(no_token.error().find("without a token") != std::string::npos);

    auto legacy = on(text);
    legacy.legacy = true;
    auto legacy_refused = check_exposure(legacy);
    REQUIRE(!legacy_refused);
    CHECK(legacy_refused.error().find("unauthenticated legacy protocol") != std::string::npos);

    auto guarded = on(text);
    guarded.tls = true;
    guarded.token = true;
    CHECK(check_exposure(guarded).ok());
  }
}

TEST_CASE("exec::check_exposure: --insecure lets every non-loopback setup through", "[exec]") {
  auto config = on("0.0.0.0:0");
  config.insecure = true;
  CHECK(check_exposure(config).ok());
  config.legacy = true;
  CHECK(check_exposure(config).ok());
}

TEST_CASE("exec::check_modes: combinations that would protect nothing are usage errors", "[exec]") {
  auto legacy_token = on("127.0.0.1:0");
  legacy_token.legacy = true;
  legacy_token.token = true;
  auto refused = check_modes(legacy_token);
  REQUIRE(!refused);
  CHECK(refused.exit_code() == k_exit_usage);
  CHECK(refused.error().starts_with("--protocol legacy has no authentication"));

  auto allow_shell = on("127.0.0.1:0");
  allow_shell.allow_list = true;
  allow_shell.shell = true;
  CHECK(check_modes(allow_shell).error().starts_with("--allow cannot be enforced"));
  auto allow_legacy = on("127.0.0.1:0");
  allow_legacy.allow_list = true;
  allow_legacy.legacy = true;
  CHECK(!check_modes(allow_legacy).ok());

  auto tls_unix = on("unix:/tmp/netlab-x.sock");
  tls_unix.tls = true;
  CHECK(check_modes(tls_unix).error() == "--tls needs a TCP address");
  auto tls_legacy = on("127.0.0.1:0");
  tls_legacy.tls = true;
  tls_legacy.legacy = true;
  CHECK(check_modes(tls_legacy).error() == "--tls is for the framed protocol");

  auto framed = on("127.0.0.1:0");
  framed.token = true;
  framed.allow_list = true;
  framed.tls = true;
  CHECK(check_modes(framed).ok());
}

TEST_CASE("exec::no_token_warning: TCP without a token warns, naming the address; unix does not", "[exec]") {
  auto warning = no_token_warning(on("127.0.0.1:8080"));
  REQUIRE(warning);
  CHECK(warning->find("127.0.0.1:8080") != std::string::npos);
  CHECK(no_token_warning(on("127.0.0.1:0"))->find("127.0.0.1 (the port below)") != std::string::npos);
  CHECK(!no_token_warning(on("unix:/tmp/netlab-x.sock")));
  auto with_token = on("127.0.0.1:8080");
  with_token.token = true;
  CHECK(!no_token_warning(with_token));
}
