// Unit tests for core/pool/joblog: GNU parallel's joblog columns and the --json line.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/pool/joblog.hpp"

using namespace netlab::pool;

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
