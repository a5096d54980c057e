// Unit tests for core/util/cpus: the CPU count honours the affinity mask, and the
// oversubscription warning appears exactly when workers exceed CPUs.
#include <catch2/catch.hpp>

#include <sched.h>

#include "core/util/cpus.hpp"

using namespace netlab;

TEST_CASE("cpus::available counts the affinity mask, never 0") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof(set), &set) == 0);
  CHECK(cpus::available() == static_cast<unsigned>(CPU_COUNT(&set)));
  CHECK(cpus::available() >= 1);
}

TEST_CASE("cpus::oversubscribed warns only past the CPU count, in one line") {
  CHECK_FALSE(cpus::oversubscribed("--workers", 1, 1));
  CHECK_FALSE(cpus::oversubscribed("--workers", 2, 2));
  CHECK(*cpus::oversubscribed("--workers", 4, 2) ==
        "warning: --workers 4 exceeds the 2 CPUs available; more workers than CPUs usually slows it down");
  CHECK(*cpus::oversubscribed("--workers", 2, 1) ==
        "warning: --workers 2 exceeds the 1 CPU available; more workers than CPUs usually slows it down");
}
