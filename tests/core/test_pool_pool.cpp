// Unit tests for core/pool/pool's scheduler through a fake Executor: the test starts nothing
// real, it ends each job by hand (an exit code, a signal, output) and watches what the scheduler
// does next, so --jobs, -k, --retries, --halt, --timeout and interrupts are checked without
// processes or timing.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "core/loop/loop.hpp"
#include "core/loop/timer.hpp"
#include "core/pool/pool.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using namespace netlab::pool;

namespace {

struct FakeControl final : JobControl {
  void signal(int signum) override { signals.push_back(signum); }
  std::vector<int> signals;
};

// One start() call: what was asked, who to tell, which signals the scheduler sent.
struct FakeJob {
  JobSpec spec;
  JobObserver* observer = nullptr;
  std::shared_ptr<FakeControl> control;
  bool done = false;
};

// Records every start; a test ends jobs with finish(). With `finish_at_start`, every job ends
// inside start() with that outcome, as an executor that could not start it does.
class FakeExecutor final : public Executor {
public:
  std::shared_ptr<JobControl> start(JobSpec&& spec, JobObserver& observer) override {
    m_jobs.push_back(FakeJob{std::move(spec), &observer, std::make_shared<FakeControl>(), false});
    if (finish_at_start) {
      m_jobs.back().done = true;
      observer.on_done(*finish_at_start);
      return nullptr;
    }
    return m_jobs.back().control;
  }
  unsigned capacity() const override { return capacity_limit; }

  std::optional<JobOutcome> finish_at_start;
  unsigned capacity_limit = ~0U;

  std::vector<FakeJob>& jobs() { return m_jobs; }
  // The start calls not yet finished, in start order.
  std::vector<std::size_t> running() const {
    std::vector<std::size_t> indexes;
    for (std::size_t i = 0; i < m_jobs.size(); ++i) {
      if (!m_jobs[i].done) {
        indexes.push_back(i);
      }
    }
    return indexes;
  }
  // Ends start call `index` (0-based, in start order) with `exit_code`, after printing `out`.
  void finish(std::size_t index, std::int64_t exit_code, std::string_view out = {}, int term_signal = 0) {
    REQUIRE(index < m_jobs.size());
    FakeJob& job = m_jobs[index];
    REQUIRE_FALSE(job.done);
    job.done = true;
    if (!out.empty()) {
      job.observer->on_stdout(out);
    }
    JobOutcome outcome;
    outcome.ending =
        term_signal != 0 ? netlab::ExitStatus::signaled(term_signal) : netlab::ExitStatus::exited(exit_code);
    // The observer may start the next job, which appends to m_jobs: `job` is not used after this.
    job.observer->on_done(outcome);
  }

private:
  std::vector<FakeJob> m_jobs;
};

// A pool of `jobs` slots over the inputs, with output into a memory file the test reads back.
struct Harness {
  explicit Harness(std::vector<std::string> inputs, unsigned jobs = 1) {
    config.command = {"job", "{}"};
    config.groups = {std::move(inputs)};
    config.jobs = jobs;
    config.stdout_fd = out_fd;
    config.executor = [this](loop::Loop&) {
      auto owned = std::make_unique<FakeExecutor>();
      executor = owned.get();
      if (finish_at_start) {
        owned->finish_at_start = finish_at_start;
      }
      owned->capacity_limit = capacity_limit;
      return owned;
    };
  }
  ~Harness() { ::close(out_fd); }

  PoolRun& start() {
    run = std::make_unique<PoolRun>(config, loop);
    REQUIRE(run->start().ok());
    REQUIRE(executor != nullptr);
    return *run;
  }

  // Runs the loop one step at a time until `fact` holds; the loop must have work while it does not.
  // A repeating wake-up timer runs meanwhile: libuv runs the timers that are due at the top of a
  // UV_RUN_ONCE step and then polls without a deadline if no timer is left, so a scheduler timer
  // (the 1 ms kill grace) that came due before the step would otherwise fire, make the fact true,
  // and leave the step waiting for ever. The tick only wakes the loop; nothing waits for time.
  template <typename Fact>
  void run_until(Fact&& fact) {
    auto tick = loop::Timer::create(loop);
    tick->start(5, 5, [] {});
    while (!fact()) {
      REQUIRE(loop.run(UV_RUN_ONCE) != 0);
    }
    tick->close();
  }

  std::string output() const {
    off_t size = ::lseek(out_fd, 0, SEEK_END);
    std::string text(static_cast<std::size_t>(size), '\0');
    REQUIRE(::pread(out_fd, text.data(), text.size(), 0) == size);
    return text;
  }

  std::string input_of(std::size_t index) const { return executor->jobs().at(index).spec.argv.at(1); }

  // Ends the test: the run is over and every handle it made is closed.
  void require_done() {
    REQUIRE(run->finished());
    loop.run(UV_RUN_NOWAIT);
    run.reset();
    netlab::testing::require_clean_close(loop);
  }

  int out_fd = ::memfd_create("pool-test-out", MFD_CLOEXEC);
  PoolConfig config;
  std::optional<JobOutcome> finish_at_start;
  unsigned capacity_limit = ~0U;
  loop::Loop loop;
  FakeExecutor* executor = nullptr;
  std::unique_ptr<PoolRun> run;
};

} // namespace

TEST_CASE("pool scheduler: with -j2 two jobs run at once, each end starts the next, lowest free slot first",
          "[pool][scheduler]") {
  Harness pool({"a", "b", "c", "d"}, 2);
  pool.start();
  auto& fake = *pool.executor;
  REQUIRE(fake.jobs().size() == 2);
  CHECK(fake.jobs()[0].spec.seq == 1);
  CHECK(fake.jobs()[0].spec.slot == 1);
  CHECK(fake.jobs()[1].spec.slot == 2);
  CHECK(fake.jobs()[0].spec.argv == std::vector<std::string>{"job", "a"});

  fake.finish(1, 0, "b\n");
  REQUIRE(fake.jobs().size() == 3);
  CHECK(pool.input_of(2) == "c");
  CHECK(fake.jobs()[2].spec.slot == 2);
  CHECK(fake.jobs()[2].spec.seq == 3);
  fake.finish(0, 0, "a\n");
  REQUIRE(fake.jobs().size() == 4);
  CHECK(fake.jobs()[3].spec.slot == 1);
  CHECK_FALSE(pool.run->finished());
  fake.finish(3, 0, "d\n");
  fake.finish(2, 0, "c\n");
  CHECK(pool.output() == "b\na\nd\nc\n");
  CHECK(pool.run->result().started == 4);
  CHECK(pool.run->result().succeeded == 4);
  CHECK(pool.run->result().exit_code() == 0);
  pool.require_done();
}

TEST_CASE("pool scheduler: -k writes output in input order however the jobs finish", "[pool][scheduler]") {
  Harness pool({"1", "2", "3"}, 3);
  pool.config.keep_order = true;
  pool.start();
  auto& fake = *pool.executor;
  REQUIRE(fake.jobs().size() == 3);
  fake.finish(2, 0, "three\n");
  fake.finish(1, 0, "two\n");
  CHECK(pool.output().empty());
  fake.finish(0, 0, "one\n");
  CHECK(pool.output() == "one\ntwo\nthree\n");
  pool.require_done();
}

TEST_CASE("pool scheduler: --retries reruns a failed job under the same number and shows only its last attempt",
          "[pool][scheduler]") {
  Harness pool({"x", "y"}, 1);
  pool.config.retries = 2;
  pool.start();
  auto& fake = *pool.executor;
  fake.finish(0, 1, "first try\n");
  REQUIRE(fake.jobs().size() == 2);
  CHECK(fake.jobs()[1].spec.seq == 1);
  CHECK(pool.input_of(1) == "x");
  fake.finish(1, 1, "second try\n");
  REQUIRE(fake.jobs().size() == 3);
  CHECK(fake.jobs()[2].spec.seq == 1);
  fake.finish(2, 0, "third try\n");
  // Only now does the next input start.
  REQUIRE(fake.jobs().size() == 4);
  CHECK(fake.jobs()[3].spec.seq == 2);
  CHECK(pool.input_of(3) == "y");
  // y fails all three times: it counts as one failure.
  fake.finish(3, 5);
  fake.finish(4, 5);
  fake.finish(5, 5, "y gave up\n");
  CHECK(fake.jobs().size() == 6);
  CHECK(pool.output() == "third try\ny gave up\n");
  const auto& result = pool.run->result();
  CHECK(result.started == 2);
  CHECK(result.succeeded == 1);
  CHECK(result.failed == 1);
  CHECK(result.exit_code() == 1);
  pool.require_done();
}

TEST_CASE("pool scheduler: --halt now,fail=1 stops starting, TERMs the running jobs, then KILLs them after the grace",
          "[pool][scheduler]") {
  Harness pool({"1", "2", "3", "4", "5"}, 3);
  pool.config.halt = *HaltPolicy::parse("now,fail=1");
  pool.config.kill_grace = std::chrono::milliseconds(1);
  pool.start();
  auto& fake = *pool.executor;
  REQUIRE(fake.jobs().size() == 3);
  fake.finish(1, 7);
  CHECK(fake.jobs().size() == 3); // nothing new started
  CHECK(fake.jobs()[0].control->signals == std::vector<int>{SIGTERM});
  CHECK(fake.jobs()[2].control->signals == std::vector<int>{SIGTERM});
  CHECK(fake.jobs()[1].control->signals.empty());
  pool.run_until([&] { return fake.jobs()[0].control->signals.size() == 2; });
  CHECK(fake.jobs()[0].control->signals.back() == SIGKILL);
  CHECK(fake.jobs()[2].control->signals.back() == SIGKILL);
  fake.finish(0, 0, {}, SIGKILL);
  fake.finish(2, 0, {}, SIGKILL);
  const auto& result = pool.run->result();
  CHECK(result.halted);
  CHECK(result.started == 3);
  CHECK(result.failed == 1);
  CHECK(result.killed == 2);
  CHECK(result.succeeded == 0);
  CHECK(result.exit_code() == 1);
  pool.require_done();
}

TEST_CASE("pool scheduler: --halt soon,fail=2 lets running jobs finish unsignalled and starts no more",
          "[pool][scheduler]") {
  Harness pool({"1", "2", "3", "4", "5"}, 3);
  pool.config.halt = *HaltPolicy::parse("soon,fail=2");
  pool.start();
  auto& fake = *pool.executor;
  fake.finish(0, 1);
  REQUIRE(fake.jobs().size() == 4); // one failure: not yet
  fake.finish(1, 1);
  CHECK(fake.jobs().size() == 4);
  CHECK(pool.run->result().halted);
  CHECK_FALSE(pool.run->finished());
  for (std::size_t index : fake.running()) {
    CHECK(fake.jobs()[index].control->signals.empty());
  }
  fake.finish(2, 0);
  fake.finish(3, 3);
  const auto& result = pool.run->result();
  CHECK(result.started == 4);
  CHECK(result.succeeded == 1);
  CHECK(result.failed == 3);
  CHECK(result.killed == 0);
  CHECK(result.exit_code() == 3);
  pool.require_done();
}

TEST_CASE("pool scheduler: --halt now,success=1 stops the others at the first success", "[pool][scheduler]") {
  Harness pool({"1", "2", "3"}, 2);
  pool.config.halt = *HaltPolicy::parse("now,success=1");
  pool.start();
  auto& fake = *pool.executor;
  fake.finish(0, 1);
  REQUIRE(fake.jobs().size() == 3);
  fake.finish(2, 0);
  CHECK(fake.jobs()[1].control->signals == std::vector<int>{SIGTERM});
  fake.finish(1, 0, {}, SIGTERM);
  const auto& result = pool.run->result();
  CHECK(result.halted);
  CHECK(result.succeeded == 1);
  CHECK(result.failed == 1);
  CHECK(result.killed == 1);
  pool.require_done();
}

TEST_CASE("pool scheduler: --timeout TERMs a job, KILLs it after the grace, and counts it failed with a message",
          "[pool][scheduler]") {
  Harness pool({"slow", "next"}, 1);
  pool.config.timeout = netlab::Seconds(0.001);
  pool.config.kill_grace = std::chrono::milliseconds(1);
  pool.config.stderr_fd = pool.out_fd;
  pool.start();
  auto& fake = *pool.executor;
  auto& signals = fake.jobs()[0].control->signals;
  pool.run_until([&] { return signals.size() == 2; });
  CHECK(signals == std::vector<int>{SIGTERM, SIGKILL});
  fake.finish(0, 0, {}, SIGKILL);
  REQUIRE(fake.jobs().size() == 2);
  // The next job's timer starts afresh; this one ends in time.
  fake.finish(1, 0, "in time\n");
  CHECK(fake.jobs()[1].control->signals.empty());
  const auto& result = pool.run->result();
  CHECK(result.failed == 1);
  CHECK(result.succeeded == 1);
  CHECK(pool.output().find("job 1 timed out after 0.001 s") != std::string::npos);
  CHECK(pool.output().find("in time\n") != std::string::npos);
  pool.require_done();
}

TEST_CASE("pool scheduler: an interrupt TERMs every running job, a second one KILLs at once, nothing new starts",
          "[pool][scheduler]") {
  Harness pool({"1", "2", "3", "4"}, 2);
  std::vector<int> heard;
  pool.config.on_interrupt = [&](int signum) { heard.push_back(signum); };
  pool.config.kill_grace =
      std::chrono::milliseconds(60'000); // the second interrupt, not the grace timer, must send KILL
  pool.start();
  auto& fake = *pool.executor;
  pool.run->interrupt(SIGINT);
  CHECK(heard == std::vector<int>{SIGINT});
  CHECK(fake.jobs()[0].control->signals == std::vector<int>{SIGTERM});
  CHECK(fake.jobs()[1].control->signals == std::vector<int>{SIGTERM});
  pool.run->interrupt(SIGINT);
  CHECK(fake.jobs()[0].control->signals == std::vector<int>{SIGTERM, SIGKILL});
  CHECK(heard.size() == 1);
  fake.finish(0, 0, {}, SIGKILL);
  CHECK(fake.jobs().size() == 2);
  fake.finish(1, 0, {}, SIGKILL);
  const auto& result = pool.run->result();
  CHECK(result.interrupted);
  CHECK(result.interrupt_signal == SIGINT);
  CHECK(result.killed == 2);
  CHECK(result.failed == 0);
  CHECK(result.started == 2);
  pool.require_done();
}

TEST_CASE("pool scheduler: SIGHUP delivered to the process interrupts the run like SIGINT", "[pool][scheduler]") {
  Harness pool({"1"}, 1);
  pool.start();
  auto& fake = *pool.executor;
  REQUIRE(::raise(SIGHUP) == 0);
  pool.run_until([&] { return !fake.jobs()[0].control->signals.empty(); });
  CHECK(fake.jobs()[0].control->signals == std::vector<int>{SIGTERM});
  CHECK(pool.run->result().interrupt_signal == SIGHUP);
  fake.finish(0, 0, {}, SIGTERM);
  CHECK(pool.run->result().killed == 1);
  pool.require_done();
}

TEST_CASE("pool scheduler: jobs that end inside start() run the whole input at once and count as failures",
          "[pool][scheduler]") {
  Harness pool({"a", "b", "c"}, 2);
  JobOutcome cannot_start;
  cannot_start.ending = netlab::ExitStatus::exited(127);
  cannot_start.start_error = "job: command not found";
  pool.finish_at_start = cannot_start;
  pool.start();
  CHECK(pool.executor->jobs().size() == 3);
  CHECK(pool.run->finished());
  CHECK(pool.run->result().failed == 3);
  CHECK(pool.run->result().exit_code() == 3);
  pool.require_done();
}

TEST_CASE("pool scheduler: an executor with no capacity still gets one job at a time, so jobs fail rather than wait",
          "[pool][scheduler]") {
  Harness pool({"a", "b"}, 4);
  pool.capacity_limit = 0;
  pool.start();
  auto& fake = *pool.executor;
  CHECK(fake.jobs().size() == 1);
  fake.finish(0, 0);
  CHECK(fake.jobs().size() == 2);
  fake.finish(1, 0);
  pool.require_done();
}

TEST_CASE("pool scheduler: more than 100 failures exit 101, and all-unreachable exits 255", "[pool][scheduler]") {
  PoolResult result;
  result.failed = 100;
  CHECK(result.exit_code() == 100);
  result.failed = 101;
  CHECK(result.exit_code() == 101);
  result.failed = 3;
  result.unreachable = 3;
  CHECK(result.exit_code() == 255);
  result.succeeded = 1;
  CHECK(result.exit_code() == 3);
}
