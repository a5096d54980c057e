// Seconds to timer and poll milliseconds: rounding, the cap, and values no caller should pass.
#include "core/util/duration.hpp"

#include <catch2/catch.hpp>

#include <climits>
#include <limits>

using netlab::poll_ms;
using netlab::Seconds;
using netlab::timer_ms;

TEST_CASE("timer_ms: rounds to the nearest millisecond") {
  CHECK(timer_ms(Seconds(0)) == 0);
  CHECK(timer_ms(Seconds(1.5)) == 1500);
  CHECK(timer_ms(Seconds(0.25)) == 250);
  CHECK(timer_ms(Seconds(1.1)) == 1100); // 1.1 * 1000 is 1100.0000000000002 in a double
  CHECK(timer_ms(Seconds(0.0004)) == 0);
  CHECK(timer_ms(Seconds(0.0005)) == 1);
  CHECK(timer_ms(Seconds(0.0015)) == 2);
  CHECK(timer_ms(std::chrono::milliseconds(2000)) == 2000);
}

TEST_CASE("timer_ms: negative and NaN give 0") {
  CHECK(timer_ms(Seconds(-1)) == 0);
  CHECK(timer_ms(Seconds(-std::numeric_limits<double>::infinity())) == 0);
  CHECK(timer_ms(Seconds(std::numeric_limits<double>::quiet_NaN())) == 0);
}

TEST_CASE("timer_ms: past 1e9 s, infinity included, is capped at 1e12 ms") {
  CHECK(timer_ms(Seconds(1e9)) == 1'000'000'000'000ull);
  CHECK(timer_ms(Seconds(1e300)) == 1'000'000'000'000ull);
  CHECK(timer_ms(Seconds(std::numeric_limits<double>::infinity())) == 1'000'000'000'000ull);
  CHECK(timer_ms(netlab::k_max_wait) == 1'000'000'000'000ull);
}

TEST_CASE("poll_ms: as timer_ms, capped at INT_MAX, never -1") {
  CHECK(poll_ms(Seconds(0)) == 0);
  CHECK(poll_ms(Seconds(2.5)) == 2500);
  CHECK(poll_ms(Seconds(-3)) == 0);
  CHECK(poll_ms(Seconds(std::numeric_limits<double>::quiet_NaN())) == 0);
  CHECK(poll_ms(Seconds(3e6)) == INT_MAX); // 3e9 ms does not fit an int
  CHECK(poll_ms(Seconds(std::numeric_limits<double>::infinity())) == INT_MAX);
}
