// Unit tests for core/util/error: the contract between cmd/ and core/ (a failure's exit code
// survives both directions, Result to Error and Error to Result).
#include <catch2/catch.hpp>

#include "core/util/error.hpp"

using namespace netlab;

namespace {

Result<int> timed_out() { return fail_exit(k_exit_timeout, "no answer in 5s"); }

Result<int> chained() {
  NETLAB_TRY(int value, timed_out());
  return value + 1;
}

} // namespace

TEST_CASE("value_or_throw: the value, or an Error with the failure's message and exit code", "[util]") {
  CHECK(value_or_throw(Result<int>(7)) == 7);
  try {
    (void)value_or_throw(chained());
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "no answer in 5s");
    CHECK(e.exit_code() == k_exit_timeout);
  }
  CHECK_THROWS_AS(value_or_throw(Result<void>(fail("x"))), Error);
  try {
    value_or_throw(Result<void>(fail("plain")));
  } catch (const Error& e) {
    CHECK(e.exit_code() == k_exit_failure);
  }
}

TEST_CASE("value_or_usage: a failure is a usage error (2), with the context before it", "[util]") {
  try {
    (void)value_or_usage(Result<int>(fail_exit(k_exit_connect, "'h:x': not a port")), "--ssh");
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "--ssh 'h:x': not a port");
    CHECK(e.exit_code() == k_exit_usage);
  }
}

TEST_CASE("catch_failure: a thrown Error becomes the Failure it stands for", "[util]") {
  auto connect = catch_failure([]() -> int { throw ConnectError("connect 127.0.0.1:1: connection refused"); });
  REQUIRE(!connect);
  CHECK(connect.exit_code() == k_exit_connect);
  CHECK(connect.error() == "connect 127.0.0.1:1: connection refused");
  auto fine = catch_failure([] { return 3; });
  REQUIRE(fine);
  CHECK(*fine == 3);
  auto done = catch_failure([] {});
  CHECK(done.ok());
  CHECK_THROWS_AS(catch_failure([]() -> int { throw std::logic_error("not ours"); }), std::logic_error);
}

TEST_CASE("signal_exit_status: 128 + N, as the shell reports a signal", "[util]") {
  CHECK(signal_exit_status(2) == k_exit_interrupted);
  CHECK(signal_exit_status(13) == k_exit_broken_pipe);
}
