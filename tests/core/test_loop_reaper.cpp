// Unit tests for core/loop/reaper: commands that try to escape (setsid, double fork, a scrubbed
// environment) stay attributed to their tree and die with it; what is not a tree's is left alone.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "core/loop/spawn.hpp"
#include "core/loop/reaper.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;

namespace {

bool exists(int pid) {
  struct stat st {};
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

bool contains(const std::vector<int>& pids, int pid) { return std::find(pids.begin(), pids.end(), pid) != pids.end(); }

struct Ran {
  std::string output;
  ExitStatus status;
  std::shared_ptr<loop::Process> process;
};

// Runs `script` under sh in `tree` until it has exited and closed its stdout.
Ran run_in_tree(loop::Loop& loop, const std::string& script, const std::shared_ptr<loop::ProcessTree>& tree,
                bool wait_exit = true) {
  Ran ran;
  auto out = loop::Pipe::create(loop);
  loop::SpawnConfig options;
  options.argv = {"sh", "-c", script};
  options.stdout_ = loop::Stdio::piped(out);
  options.tree = tree;
  bool exited = false;
  bool ended = false;
  auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) {
    ran.status = s;
    exited = true;
  });
  REQUIRE(spawned.ok());
  ran.process = *spawned;
  out->on_data([&](std::string_view data) { ran.output.append(data); });
  out->on_end([&] {
    ended = true;
    out->close();
  });
  out->read_start();
  while (!ended || (wait_exit && !exited)) {
    loop.run(UV_RUN_ONCE);
  }
  return ran;
}

int first_pid(const std::string& text) { return std::stoi(text); }

// Runs the loop until `pid` is gone from /proc (killed and reaped), or gives up after ~10 s.
bool wait_gone(loop::Loop& loop, const std::shared_ptr<loop::Reaper>& reaper, int pid) {
  auto timer = loop::Timer::create(loop);
  int ticks = 0;
  timer->start(10, 10, [&] { ++ticks; });
  while (exists(pid) && ticks < 1000) {
    reaper->sweep();
    loop.run(UV_RUN_ONCE);
  }
  timer->close();
  return !exists(pid);
}

} // namespace

TEST_CASE("loop::ProcessTree: setsid, double fork and nohup leftovers die with the tree", "[loop][reaper]") {
  loop::Loop loop;
  auto reaper = loop::Reaper::start(loop);
  REQUIRE(reaper.ok());
  const char* scripts[] = {
      "setsid sleep 60 >/dev/null 2>&1 & echo $!",
      "(sh -c 'sleep 60 >/dev/null 2>&1 & echo $!' &)",
      "nohup sleep 60 >/dev/null 2>&1 & echo $!",
  };
  for (const char* script : scripts) {
    SECTION(script) {
      auto tree = (*reaper)->new_tree();
      auto ran = run_in_tree(loop, script, tree);
      int escaped = first_pid(ran.output);
      REQUIRE(exists(escaped));
      // The command is gone, its leftover was re-parented to us, and it is still the tree's.
      CHECK(contains(tree->members(), escaped));
      CHECK(tree->kill() == 0);
      CHECK(tree->members().empty());
      CHECK(wait_gone(loop, *reaper, escaped));
      ran.process->close();
    }
  }
  (*reaper)->close();
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("loop::ProcessTree: a process that scrubs its environment stays attributed once seen", "[loop][reaper]") {
  loop::Loop loop;
  auto reaper = loop::Reaper::start(loop);
  REQUIRE(reaper.ok());
  auto tree = (*reaper)->new_tree();
  auto other = (*reaper)->new_tree();
  // The leader keeps running, so the scrubbed sleeper is seen as its descendant first.
  auto ran =
      run_in_tree(loop, "env -i setsid sleep 60 >/dev/null 2>&1 & echo $!; exec sleep 60 >/dev/null", tree, false);
  int escaped = first_pid(ran.output);
  REQUIRE(contains(tree->members(), escaped));
  // Its parent dies; it has no marker, but the tree saw it.
  ran.process->kill(SIGKILL);
  while (!ran.process->exited()) {
    loop.run(UV_RUN_ONCE);
  }
  CHECK(contains(tree->members(), escaped));
  CHECK(other->members().empty());
  CHECK(other->kill() == 0);
  CHECK(exists(escaped));
  tree.reset(); // dropping a tree kills what is left of it
  CHECK(wait_gone(loop, *reaper, escaped));
  ran.process->close();
  (*reaper)->close();
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("loop::Reaper: an orphan no tree can claim is killed; processes outside trees are left alone",
          "[loop][reaper]") {
  loop::Loop loop;
  auto reaper = loop::Reaper::start(loop);
  REQUIRE(reaper.ok());
  // Not a tree: spawned plainly, it is its owner's business.
  auto out = loop::Pipe::create(loop);
  loop::SpawnConfig plain;
  plain.argv = {"sh", "-c", "echo $$; exec sleep 60 >/dev/null"};
  plain.stdout_ = loop::Stdio::piped(out);
  std::string plain_output;
  auto bystander = loop::Process::spawn(loop, plain, [](ExitStatus) {});
  REQUIRE(bystander.ok());
  out->on_data([&](std::string_view data) { plain_output.append(data); });
  out->read_start();
  while (plain_output.find('\n') == std::string::npos) {
    loop.run(UV_RUN_ONCE);
  }
  out->close();

  // A command spawned without a tree leaves a detached sleeper: it carries no marker, so once its
  // parent is gone no tree can claim it (the same as a process that scrubbed its environment
  // before any scan saw it).
  auto ran = run_in_tree(loop, "setsid sleep 60 >/dev/null 2>&1 & echo $!", nullptr);
  int unowned = first_pid(ran.output);
  CHECK(wait_gone(loop, *reaper, unowned));
  CHECK((*reaper)->kill_all() == 0);
  CHECK(exists((*bystander)->pid()));
  (*bystander)->kill(SIGKILL);
  while (!(*bystander)->exited()) {
    loop.run(UV_RUN_ONCE);
  }
  // No orphan is left.
  CHECK((*reaper)->sweep() == 0);
  (*bystander)->close();
  ran.process->close();
  (*reaper)->close();
  netlab::testing::require_clean_close(loop);
}
