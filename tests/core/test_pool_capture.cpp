// Unit tests for core/pool/capture, halt and joblog: output kept whole across a spill, tagging
// across split lines, --halt parsing, and GNU parallel's joblog columns.
#include <catch2/catch.hpp>

#include <stdio.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/pool/capture.hpp"
#include "core/pool/halt.hpp"
#include "core/pool/joblog.hpp"

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

TEST_CASE("pool::HaltPolicy::parse", "[pool]") {
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

TEST_CASE("pool::joblog_line: GNU parallel's nine columns", "[pool]") {
  CHECK(joblog_header() == "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  JobRecord record;
  record.seq = 3;
  record.start_time = 1700000000.5;
  record.runtime = 0.25;
  record.exit_code = 2;
  record.signal = 0;
  record.command = "grep -q\tx";
  CHECK(joblog_line(record) == "3\t:\t1700000000.500\t     0.250\t0\t0\t2\t0\tgrep -q x\n");
}

TEST_CASE("pool::json_line: one valid object even for binary output", "[pool]") {
  JobRecord record;
  record.seq = 1;
  std::vector<std::string> inputs = {"a", "b"};
  record.inputs = &inputs;
  auto line = json_line(record, std::string("ok\xff\n", 4), "");
  REQUIRE(line.back() == '\n');
  auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["seq"] == 1);
  CHECK(parsed["input"] == "a b");
  CHECK(parsed["exit"] == 0);
  CHECK(parsed["stdout"].get<std::string>().starts_with("ok"));
}
