// Unit tests for core/loop/loop: close_all closes what the caller forgot.
#include <catch2/catch.hpp>

#include "core/loop/timer.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

TEST_CASE("loop::Loop: close_all closes handles the caller forgot", "[loop]") {
  loop::Loop loop;
  int closed = 0;
  std::weak_ptr<loop::Timer> weak;
  {
    auto timer = loop::Timer::create(loop);
    timer->on_close([&] { ++closed; });
    timer->start(100000, 0, [] {});
    weak = timer;
  }
  // The handle keeps itself alive while open, though nobody holds it.
  CHECK_FALSE(weak.expired());
  require_clean_close(loop);
  CHECK(closed == 1);
  CHECK(weak.expired());
}
