// Unit tests for core/pool/halt: --halt's grammar (GNU parallel's never / soon / now with
// fail=N or success=N) and when a policy triggers.
#include <catch2/catch.hpp>

#include <string>

#include "core/pool/halt.hpp"

using namespace netlab::pool;

TEST_CASE("pool::HaltPolicy::parse: the accepted forms parse to their policy and trigger at their count", "[pool]") {
  CHECK(HaltPolicy::parse("never")->when == HaltPolicy::When::never);
  auto soon = HaltPolicy::parse("soon,fail=3");
  REQUIRE(soon.ok());
  CHECK(soon->when == HaltPolicy::When::soon);
  CHECK_FALSE(soon->triggered(2, 100));
  CHECK(soon->triggered(3, 0));
  auto now = HaltPolicy::parse("now,success=1");
  REQUIRE(now.ok());
  CHECK(now->triggered(0, 1));
  CHECK(HaltPolicy::parse("now")->triggered(1, 0));
  for (const char* bad : {"sometime", "now,fail", "now,fail=0", "now,fail=x", "soon,oops=1", "never,fail=1"}) {
    INFO(bad);
    CHECK_FALSE(HaltPolicy::parse(bad).ok());
  }
}

TEST_CASE("pool::HaltPolicy::parse: each form gives exactly its when, on and count", "[pool]") {
  auto never = HaltPolicy::parse("never");
  REQUIRE(never.ok());
  CHECK_FALSE(never->triggered(1000, 1000));
  auto now = HaltPolicy::parse("now");
  REQUIRE(now.ok());
  CHECK(now->when == HaltPolicy::When::now);
  CHECK(now->on == HaltPolicy::On::fail);
  CHECK(now->count == 1);
  auto soon = HaltPolicy::parse("soon");
  REQUIRE(soon.ok());
  CHECK(soon->when == HaltPolicy::When::soon);
  CHECK(soon->on == HaltPolicy::On::fail);
  CHECK(soon->count == 1);
  auto success = HaltPolicy::parse("soon,success=18446744073709551615");
  REQUIRE(success.ok());
  CHECK(success->on == HaltPolicy::On::success);
  CHECK(success->count == 18446744073709551615ULL);
  CHECK_FALSE(success->triggered(0, 1000));
  // A success policy ignores failures, a failure policy ignores successes.
  CHECK_FALSE(HaltPolicy::parse("now,success=1")->triggered(5, 0));
  CHECK_FALSE(HaltPolicy::parse("now,fail=1")->triggered(0, 5));
}

TEST_CASE("pool::HaltPolicy::parse: malformed text is refused with a message that echoes it", "[pool]") {
  for (const char* bad : {"", "NOW", "now,", "now,=1", "now,fail=", "now,fail=-1", "now,fail=1x", "now,fail= 1",
                          "now,fail=18446744073709551616", "now,fail=1,success=1", "soon,success=0", "never,",
                          "nevermore", "now ,fail=1"}) {
    INFO(bad);
    auto parsed = HaltPolicy::parse(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(parsed.error(), Catch::StartsWith(std::string("--halt '") + bad + "'"));
  }
}
