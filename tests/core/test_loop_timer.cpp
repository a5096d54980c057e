// Unit tests for core/loop/timer: Timer, Signal and Async on a real loop, callbacks counted, and
// each test ends by requiring that the loop closes with nothing left open.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "core/loop/timer.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

TEST_CASE("loop::Timer: fires, repeats, stops and closes once", "[loop]") {
  loop::Loop loop;
  int fired = 0;
  int closed = 0;
  auto timer = loop::Timer::create(loop);
  timer->on_close([&] { ++closed; });
  timer->start(1, 1, [&] {
    if (++fired == 3) {
      timer->close();
      timer->close(); // idempotent
    }
  });
  loop.run();
  CHECK(fired == 3);
  CHECK(closed == 1);
  require_clean_close(loop);
}

TEST_CASE("loop::Signal: delivers a signal on the loop", "[loop]") {
  loop::Loop loop;
  int got = 0;
  auto watcher = loop::Signal::create(loop);
  watcher->start(SIGUSR1, [&](int signum) {
    got = signum;
    watcher->close();
  });
  ::kill(::getpid(), SIGUSR1);
  loop.run();
  CHECK(got == SIGUSR1);
  require_clean_close(loop);
}

TEST_CASE("loop::Async: wakes the loop from another thread", "[loop]") {
  loop::Loop loop;
  int woken = 0;
  std::shared_ptr<loop::Async> async;
  async = loop::Async::create(loop, [&] {
    ++woken;
    async->close();
  });
  std::thread other([&] { async->send(); });
  loop.run();
  other.join();
  CHECK(woken == 1);
  require_clean_close(loop);
}
