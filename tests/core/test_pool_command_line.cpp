// Unit tests for core/pool/command_line: pool-run's ::: / :::: grammar and its job cap.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "core/pool/command_line.hpp"

using namespace netlab;
using namespace netlab::pool;

TEST_CASE("pool::parse_command_line: the command, then one group per :::", "[pool]") {
  auto line = parse_command_line({"--", "echo", "-n", "{1}{2}", ":::", "a", "b", ":::", "x"}, '\n');
  REQUIRE(line);
  CHECK(line->command == std::vector<std::string>{"echo", "-n", "{1}{2}"});
  REQUIRE(line->groups.size() == 2);
  CHECK(line->groups[0] == std::vector<std::string>{"a", "b"});
  CHECK(line->groups[1] == std::vector<std::string>{"x"});
}

TEST_CASE("pool::parse_command_line: :::+ and ::::+ open a group linked to the one before", "[pool]") {
  auto line = parse_command_line({"echo", ":::", "a", "b", ":::+", "1", "2", ":::", "x"}, '\n');
  REQUIRE(line);
  CHECK(line->groups == std::vector<std::vector<std::string>>{{"a", "b"}, {"1", "2"}, {"x"}});
  CHECK(line->linked == std::vector<bool>{false, true, false});
  for (const char* first : {":::+", "::::+"}) {
    auto refused = parse_command_line({"echo", first, "a"}, '\n');
    REQUIRE_FALSE(refused);
    CHECK(refused.exit_code() == k_exit_usage);
    CHECK(refused.error() ==
          fmt::format("'{}' links its inputs to the group before it, and none comes before it", first));
  }
}

TEST_CASE("pool::parse_command_line: :::: reads records from its files, split at the separator", "[pool]") {
  char path[] = "/tmp/netlab-test-pool-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::string records("one\0two words\0", 14);
  REQUIRE(::write(fd, records.data(), records.size()) == static_cast<ssize_t>(records.size()));
  ::close(fd);
  auto line = parse_command_line({"gzip", "::::", path, ":::", "z"}, '\0');
  std::remove(path);
  REQUIRE(line);
  REQUIRE(line->groups.size() == 2);
  CHECK(line->groups[0] == std::vector<std::string>{"one", "two words"});
  CHECK(line->groups[1] == std::vector<std::string>{"z"});
}

TEST_CASE("pool::parse_command_line: a missing :::: file fails with exit code 1, naming it", "[pool]") {
  auto line = parse_command_line({"cat", "::::", "/nonexistent/netlab-inputs"}, '\n');
  REQUIRE(!line);
  CHECK(line.exit_code() == k_exit_failure);
  CHECK(line.error().find("/nonexistent/netlab-inputs") != std::string::npos);
}

TEST_CASE("pool::parse_command_line: no command, or a dash word before any --, is a usage error", "[pool]") {
  for (const auto& words : std::vector<std::vector<std::string>>{{}, {"--"}, {":::", "a"}}) {
    auto line = parse_command_line(words, '\n');
    REQUIRE(!line);
    CHECK(line.exit_code() == k_exit_usage);
    CHECK(line.error().starts_with("no command given"));
  }
  auto mistyped = parse_command_line({"--josb", "4", "echo"}, '\n');
  REQUIRE(!mistyped);
  CHECK(mistyped.exit_code() == k_exit_usage);
  CHECK(mistyped.error() == "unknown option '--josb'; put the command after '--'");
  // After `--` a dash word is the command, as the user asked.
  auto after_dashes = parse_command_line({"--", "-weird-program", ":::", "a"}, '\n');
  REQUIRE(after_dashes);
  CHECK(after_dashes->command.front() == "-weird-program");
}

TEST_CASE("pool::job_cap: four descriptors per job beyond 32 kept, between 1 and k_max_jobs", "[pool]") {
  CHECK(job_cap(1024) == (1024 - 32) / 4);
  CHECK(job_cap(64) == 8);
  // Below 64 the limit is the hard one (job_cap() raised the soft one): it was counted as 64, and
  // at a limit of 16 -j 2 lost jobs to 'pipe: too many open files'.
  CHECK(job_cap(40) == 2);
  CHECK(job_cap(16) == 1);
  CHECK(job_cap(0) == 1);
  CHECK(job_cap(1u << 20) == k_max_jobs);
  CHECK(job_cap(0, /*unlimited=*/true) == k_max_jobs);
  CHECK(job_cap() >= 1);
}

TEST_CASE("pool::holding_pipe_cap: two descriptors a pipe, from what the running jobs leave", "[pool]") {
  CHECK(holding_pipe_cap(2, 64) == (64 - 32 - 2 * 4) / 2);
  CHECK(holding_pipe_cap(job_cap(1024), 1024) == 0); // at the job cap nothing is left for them
  CHECK(holding_pipe_cap(300, 1024) == 0);
  CHECK(holding_pipe_cap(8, 1u << 20) == ((1u << 20) - 32 - 8 * 4) / 2);
  CHECK(holding_pipe_cap(8, 0, /*unlimited=*/true) == SIZE_MAX);
}

TEST_CASE("pool::effective_jobs: -j 0 means the cap, -j N above it is lowered to it", "[pool]") {
  CHECK(effective_jobs(0, 300) == 300);
  CHECK(effective_jobs(4, 300) == 4);
  CHECK(effective_jobs(5000, 300) == 300);
  CHECK(effective_jobs(-1, 300) >= 1); // one per CPU
  CHECK(effective_jobs(-1, 1) == 1);   // not past the cap, whatever the CPUs
}
