// Unit tests for core/loop/process: a child's output, exit status and process group, a missing
// program, and signal names.
#include <catch2/catch.hpp>

#include <signal.h>

#include <string>

#include "core/loop/spawn.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

TEST_CASE("loop::Process: stdout through a pipe, exit status, process group", "[loop][process]") {
  loop::Loop loop;
  auto out = loop::Pipe::create(loop);
  loop::SpawnConfig options;
  options.argv = {"sh", "-c", "printf hello; exit 3"};
  options.stdout_ = loop::Stdio::piped(out);
  ExitStatus status;
  int exits = 0;
  std::string output;
  auto process = loop::Process::spawn(loop, options, [&](ExitStatus s) {
    status = s;
    ++exits;
  });
  REQUIRE(process.ok());
  out->on_data([&](std::string_view data) { output.append(data); });
  out->on_end([&] { out->close(); });
  out->read_start();
  loop.run();
  CHECK(exits == 1);
  CHECK(status.code == 3);
  CHECK(status.term_signal() == 0);
  CHECK(output == "hello");
  (*process)->close();
  require_clean_close(loop);
}

TEST_CASE("loop::Process: kill_group reaches grandchildren", "[loop][process]") {
  loop::Loop loop;
  auto out = loop::Pipe::create(loop);
  loop::SpawnConfig options;
  // The grandchild holds stdout open; only killing the whole group ends the read.
  options.argv = {"sh", "-c", "sleep 30 & echo started; wait"};
  options.stdout_ = loop::Stdio::piped(out);
  ExitStatus status;
  std::shared_ptr<loop::Process> child;
  auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) { status = s; });
  REQUIRE(spawned.ok());
  child = *spawned;
  bool ended = false;
  out->on_data([&](std::string_view) { child->kill_group(SIGKILL); });
  out->on_end([&] {
    ended = true;
    out->close();
  });
  out->read_start();
  loop.run();
  CHECK(ended);
  CHECK(status.term_signal() == SIGKILL);
  child->close();
  require_clean_close(loop);
}

TEST_CASE("loop::Process: a missing program fails cleanly", "[loop][process]") {
  loop::Loop loop;
  loop::SpawnConfig options;
  options.argv = {"/nonexistent/netlab-no-such-program"};
  auto process = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(process.ok());
  CHECK_THAT(process.error(), Catch::Contains("no such file"));
  require_clean_close(loop);
}

TEST_CASE("loop::signal_name and signal_number: names with or without SIG, numbers, and 0 for an unknown name",
          "[loop][process]") {
  CHECK(loop::signal_name(SIGTERM) == "TERM");
  CHECK(loop::signal_number("INT") == SIGINT);
  CHECK(loop::signal_number("SIGKILL") == SIGKILL);
  CHECK(loop::signal_number("9") == 9);
  CHECK(loop::signal_number("NOPE") == 0);
}
