// Unit tests for core/net/socket's deadlines: every duration a user can type is a deadline in the
// future (or none), never one that overflowed into the past.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/net/socket.hpp"

using namespace netlab;

TEST_CASE("net::deadline_after: zero, negative and NaN mean no deadline") {
  CHECK_FALSE(net::deadline_after(Seconds(0)).has_value());
  CHECK_FALSE(net::deadline_after(Seconds(-5)).has_value());
  CHECK_FALSE(net::deadline_after(Seconds(std::nan(""))).has_value());
  CHECK(net::poll_timeout(net::deadline_after(Seconds(0))) == -1);
}

TEST_CASE("net::deadline_after: a huge duration is far in the future, not overflowed into the past") {
  // 1e17 days (what `--timeout 100000000000000000d` gives) and +inf: capped at k_max_wait.
  auto seconds = GENERATE(1e22, 1e300, std::numeric_limits<double>::infinity(), 1e9, 1e7);
  auto deadline = net::deadline_after(Seconds(seconds));
  REQUIRE(deadline.has_value());
  auto left = *deadline - net::Clock::now();
  CHECK(left > std::chrono::hours(24 * 100));
  CHECK(left <= std::chrono::duration_cast<net::Clock::duration>(k_max_wait));
  // poll(2) gets its largest wait, not 0 (which would be an immediate timeout).
  CHECK(net::poll_timeout(deadline) == 1 << 30);
}

TEST_CASE("net::time_after: clamped to [0, k_max_wait]") {
  auto before = net::Clock::now();
  CHECK(net::time_after(Seconds(-1)) >= before);
  CHECK(net::time_after(Seconds(std::nan(""))) - net::Clock::now() <= std::chrono::seconds(1));
  auto far = net::time_after(Seconds(1e300)) - before;
  CHECK(far >= std::chrono::duration_cast<net::Clock::duration>(k_max_wait));
  CHECK(far < std::chrono::duration_cast<net::Clock::duration>(k_max_wait) + std::chrono::hours(1));
  auto small = net::time_after(Seconds(0.25)) - before;
  CHECK(small >= std::chrono::milliseconds(250));
}
