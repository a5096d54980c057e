// Unit tests for core/exec/job: real children on a real loop, counted callbacks, no leaks.
#include <signal.h>

#include <cerrno>

#include <catch2/catch.hpp>

#include "core/exec/job.hpp"
#include "core/loop/timer.hpp"
#include "tests/core/loop_teardown.hpp"

using netlab::exec::ExitInfo;
using netlab::exec::Job;
using netlab::exec::JobEvents;
using netlab::exec::ExecJobSpec;

namespace {

struct Run {
  std::string out;
  std::string err;
  int done = 0;
  ExitInfo info;
};

JobEvents events_for(Run& run) {
  JobEvents events;
  events.on_output = [&run](int fd, std::string_view data) { (fd == 1 ? run.out : run.err).append(data); };
  events.on_done = [&run](const ExitInfo& info) {
    ++run.done;
    run.info = info;
  };
  return events;
}

} // namespace

TEST_CASE("exec::Job: the command reads its stdin, its output and exit code arrive, and it is reaped", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  auto running = std::make_shared<std::size_t>(0);
  {
    ExecJobSpec spec;
    spec.argv = {"sh", "-c", "cat; echo err >&2; exit 3"};
    spec.stdin_data = "input";
    auto job = Job::start(loop, spec, events_for(run), running);
    REQUIRE(job.ok());
    CHECK(*running == 1);
  }
  loop.run();
  CHECK(run.done == 1);
  CHECK(run.out == "input");
  CHECK(run.err == "err\n");
  CHECK(run.info.ending.code == 3);
  CHECK(run.info.stdout_size == 5);
  CHECK(run.info.stderr_size == 4);
  CHECK(*running == 0);
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: spawn failure leaves nothing behind", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  ExecJobSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto job = Job::start(loop, spec, events_for(run), nullptr);
  REQUIRE_FALSE(job.ok());
  CHECK_THAT(job.error(), Catch::Contains("no such file"));
  loop.run();
  CHECK(run.done == 0);
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: timeout sends TERM, then KILL to a child that ignores it", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  ExecJobSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; sleep 30"};
  spec.timeout = netlab::Seconds(0.2);
  spec.kill_grace = netlab::Seconds(0.2);
  REQUIRE(Job::start(loop, spec, events_for(run), nullptr).ok());
  loop.run();
  CHECK(run.done == 1);
  CHECK(run.info.ending.timed_out);
  CHECK(run.info.ending.term_signal() == SIGKILL);
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: output past the cap is cut and the command killed", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  ExecJobSpec spec;
  spec.argv = {"yes"};
  spec.max_output = 12345;
  REQUIRE(Job::start(loop, spec, events_for(run), nullptr).ok());
  loop.run();
  CHECK(run.done == 1);
  CHECK(run.info.truncated);
  CHECK(run.out.size() == 12345);
  CHECK(run.info.stdout_size == 12345);
  CHECK(run.info.ending.term_signal() == SIGKILL);
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: abort kills the group, skips on_done, still reaps", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  auto running = std::make_shared<std::size_t>(0);
  auto job = Job::start(loop, ExecJobSpec{.argv = {"sleep", "30"}}, events_for(run), running);
  REQUIRE(job.ok());
  auto timer = netlab::loop::Timer::create(loop);
  timer->start(50, 0, [&] {
    (*job)->abort();
    timer->close();
  });
  loop.run();
  CHECK(run.done == 0);
  CHECK(*running == 0);
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: paused output blocks the command, resumed output is complete", "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  ExecJobSpec spec;
  spec.argv = {"sh", "-c", "head -c 1000000 /dev/zero"};
  auto started = Job::start(loop, spec, events_for(run), nullptr);
  REQUIRE(started.ok());
  auto job = *started;
  job->pause_output();
  auto timer = netlab::loop::Timer::create(loop);
  std::size_t seen_while_paused = 0;
  timer->start(200, 0, [&] {
    seen_while_paused = run.out.size();
    job->resume_output();
    timer->close();
  });
  loop.run();
  CHECK(seen_while_paused == 0);
  CHECK(run.done == 1);
  CHECK(run.out.size() == 1000000);
  job.reset();
  netlab::testing::require_clean_close(loop);
}

TEST_CASE("exec::Job: output a command left in its pipes waits for a paused reader, however long after the exit",
          "[exec][job]") {
  netlab::loop::Loop loop;
  Run run;
  ExecJobSpec spec;
  // Fits in the pipe, so the command exits at once, all of its output unread.
  spec.argv = {"sh", "-c", "head -c 30000 /dev/zero; echo tail >&2"};
  // Far shorter than the pause below, which lasts at least one 10 ms tick after the exit.
  spec.drain_after_exit = netlab::Seconds(0.001);
  auto started = Job::start(loop, spec, events_for(run), nullptr);
  REQUIRE(started.ok());
  auto job = *started;
  job->pause_output();
  const int pid = job->pid();
  // Resumes one tick after the tick that saw the command reaped: its exit callback ran before
  // that, so the paused job sat through more than its drain_after_exit (timers fire in order).
  auto watch = netlab::loop::Timer::create(loop);
  bool reaped = false;
  watch->start(10, 10, [&] {
    if (reaped) {
      job->resume_output();
      watch->close();
    } else if (::kill(pid, 0) != 0 && errno == ESRCH) {
      reaped = true;
    }
  });
  loop.run();
  CHECK(reaped);
  CHECK(run.done == 1);
  CHECK(run.out.size() == 30000);
  CHECK(run.err == "tail\n");
  CHECK(run.info.stdout_size == 30000);
  CHECK_FALSE(run.info.truncated);
  job.reset();
  netlab::testing::require_clean_close(loop);
}
