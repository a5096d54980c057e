// Unit tests for core/pool/capture: output kept whole across a spill, the shared memory budget,
// tagging across split lines.
#include <catch2/catch.hpp>

#include <stdio.h>
#include <unistd.h>

#include "core/pool/capture.hpp"

using namespace netlab::pool;

namespace {

std::string through_pipe(Capture& capture) {
  FILE* file = tmpfile();
  REQUIRE(file != nullptr);
  REQUIRE(capture.write_to(fileno(file)).ok());
  std::string out(static_cast<std::size_t>(ftell(file)), '\0');
  rewind(file);
  REQUIRE(fread(out.data(), 1, out.size(), file) == out.size());
  fclose(file);
  return out;
}

} // namespace

TEST_CASE("pool::Capture: spills past the per-job limit and loses nothing", "[pool]") {
  MemoryBudget budget;
  budget.per_capture = 100;
  std::string expected;
  {
    Capture capture(budget);
    for (int i = 0; i < 50; ++i) {
      std::string line = "line " + std::to_string(i) + "\n";
      capture.append(line);
      expected += line;
    }
    CHECK(capture.spilled());
    CHECK(capture.size() == expected.size());
    CHECK(through_pipe(capture) == expected);
    CHECK(*capture.read_all() == expected);
    capture.reset();
    CHECK_FALSE(capture.spilled());
    capture.append("small");
    CHECK(through_pipe(capture) == "small");
  }
  CHECK(budget.used == 0);
}

TEST_CASE("pool::Capture: the shared budget spills the next capture", "[pool]") {
  MemoryBudget budget;
  budget.per_capture = 1000;
  budget.total = 1500;
  Capture a(budget);
  Capture b(budget);
  a.append(std::string(900, 'a'));
  b.append(std::string(900, 'b'));
  CHECK_FALSE(a.spilled());
  CHECK(b.spilled());
  CHECK(*b.read_all() == std::string(900, 'b'));
}

TEST_CASE("pool::Capture: --tag prefixes every line, split or not", "[pool]") {
  MemoryBudget budget;
  Capture capture(budget);
  capture.set_prefix("in\t");
  capture.append("on");
  capture.append("e\ntwo\n");
  capture.append("\nlast");
  CHECK(*capture.read_all() == "in\tone\nin\ttwo\nin\t\nin\tlast");
}
