// Unit tests for core/pool/capture: output kept whole across the holding pipe, memory and a
// spill, to every kind of descriptor; the shared memory and pipe budgets; tagging across split
// lines.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>
#include <utility>

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
  SpillFile spill;
  budget.per_capture = 100;
  std::string expected;
  {
    Capture capture(budget, spill);
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
  SpillFile spill;
  budget.per_capture = 1000;
  budget.total = 1500;
  Capture a(budget, spill);
  Capture b(budget, spill);
  a.append(std::string(900, 'a'));
  b.append(std::string(900, 'b'));
  CHECK_FALSE(a.spilled());
  CHECK(b.spilled());
  CHECK(*b.read_all() == std::string(900, 'b'));
}

TEST_CASE("pool::Capture: --tag prefixes every line, split or not", "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  Capture capture(budget, spill);
  capture.set_prefix("in\t");
  capture.append("on");
  capture.append("e\ntwo\n");
  capture.append("\nlast");
  CHECK(*capture.read_all() == "in\tone\nin\ttwo\nin\t\nin\tlast");
}

namespace {

// A job's output pipe: the test writes into `write_end` as a job would, the capture takes from
// `read_end`.
struct JobPipe {
  int read_end = -1;
  int write_end = -1;
  JobPipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~JobPipe() {
    close_writer();
    ::close(read_end);
  }
  void close_writer() {
    if (write_end >= 0) {
      ::close(write_end);
      write_end = -1;
    }
  }
  // Writes `data` in pieces of `piece` bytes, letting `capture` take after each, as the loop
  // would on every readiness; then the end of file.
  void feed(Capture& capture, const std::string& data, std::size_t piece) {
    for (std::size_t at = 0; at < data.size(); at += piece) {
      std::string_view part(data.data() + at, std::min(piece, data.size() - at));
      while (!part.empty()) {
        ssize_t n = ::write(write_end, part.data(), part.size());
        if (n > 0) {
          part.remove_prefix(static_cast<std::size_t>(n));
        }
        REQUIRE(capture.take_from(read_end) != -EINVAL);
      }
    }
    close_writer();
    std::ptrdiff_t taken = 0;
    while ((taken = capture.take_from(read_end)) > 0) {
    }
    REQUIRE(taken == 0);
  }
};

std::string random_bytes(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  unsigned state = seed;
  for (auto& c : out) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 16);
  }
  return out;
}

std::string read_file(int fd) {
  std::string out;
  char buffer[65536];
  ::lseek(fd, 0, SEEK_SET);
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace

TEST_CASE("pool::Capture: bytes spliced into the holding pipe come out whole and in order, past its end", "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  budget.pipe_per_capture = 64 << 10;
  budget.per_capture = 100 << 10; // and past the memory limit into the spill file
  auto data = random_bytes(1 << 20, 7);
  Capture capture(budget, spill);
  capture.use_holding_pipe(true);
  JobPipe job;
  job.feed(capture, data, 40000);
  CHECK(capture.size() == data.size());
  CHECK(capture.spilled());
  CHECK(budget.pipe_used > 0);

  SECTION("to a plain file") {
    FILE* file = tmpfile();
    REQUIRE(capture.write_to(fileno(file)).ok());
    CHECK((read_file(fileno(file)) == data));
    fclose(file);
  }
  SECTION("to a file opened O_APPEND, which splice refuses") {
    char path[] = "/tmp/netlab-capture-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    REQUIRE(::write(fd, "head", 4) == 4);
    ::fcntl(fd, F_SETFL, O_APPEND);
    REQUIRE(capture.write_to(fd).ok());
    CHECK((read_file(fd) == "head" + data));
    ::close(fd);
  }
  SECTION("to a non-blocking pipe that fills up, whose reader is slow") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    std::string got;
    std::thread reader([&] {
      char buffer[4096];
      while (true) {
        pollfd waiter{fds[0], POLLIN, 0};
        ::poll(&waiter, 1, -1);
        ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
        if (n == 0) {
          break;
        }
        if (n > 0) {
          got.append(buffer, static_cast<std::size_t>(n));
        }
      }
    });
    CHECK(capture.write_to(fds[1]).ok());
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    CHECK((got == data));
  }
  SECTION("as one string") {
    auto all = *capture.read_all();
    REQUIRE(all.size() == data.size());
    // Where they first differ, rather than a megabyte of bytes.
    CHECK(std::mismatch(all.begin(), all.end(), data.begin()).first - all.begin() == std::ssize(all));
  }
}

TEST_CASE("pool::Capture: many small writes fill the holding pipe's pages and the rest goes to memory, in order",
          "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  budget.pipe_per_capture = 64 << 10; // 16 pages: 16 small pieces fill it
  std::string data;
  for (int i = 0; i < 200; ++i) {
    data += "line " + std::to_string(i) + "\n";
  }
  Capture capture(budget, spill);
  capture.use_holding_pipe(true);
  JobPipe job;
  job.feed(capture, data, 9);
  CHECK(capture.size() == data.size());
  CHECK(*capture.read_all() == data);
}

TEST_CASE("pool::Capture: a job that ends just as the holding pipe is full reaches its end of file", "[pool]") {
  // A full holding pipe makes splice(2) say EAGAIN even at the job pipe's end of file: that must
  // read as the end, or a level-triggered poll calls back forever and the job never ends.
  MemoryBudget budget;
  SpillFile spill;
  budget.pipe_per_capture = 64 << 10; // 16 pages
  Capture capture(budget, spill);
  capture.use_holding_pipe(true);
  SECTION("filled with whole pages") {
    auto data = random_bytes(64 << 10, 11);
    JobPipe job;
    job.feed(capture, data, 64 << 10);
    CHECK(*capture.read_all() == data);
  }
  SECTION("filled a page per small write") {
    JobPipe job;
    job.feed(capture, "0123456789abcdef", 1);
    CHECK(*capture.read_all() == "0123456789abcdef");
  }
}

TEST_CASE("pool::Capture: reset drops held bytes, the next job starts empty, and the pipe budget is given back",
          "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  {
    Capture capture(budget, spill);
    capture.use_holding_pipe(true);
    {
      JobPipe job;
      job.feed(capture, "first job\n", 100);
    }
    CHECK(capture.size() == 10);
    capture.reset();
    CHECK(capture.empty());
    CHECK(budget.pipe_used == 0);
    JobPipe job;
    job.feed(capture, "second\n", 100);
    CHECK(*capture.read_all() == "second\n");
    capture.reset(); // written out: the empty pipe is kept for the next job
    CHECK(budget.pipe_used > 0);
  }
  CHECK(budget.pipe_used == 0);
  CHECK(budget.used == 0);
}

TEST_CASE("pool::Capture: with --tag's prefix, take_from reads and tags every line", "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  Capture capture(budget, spill);
  capture.use_holding_pipe(true);
  capture.set_prefix("x\t");
  JobPipe job;
  job.feed(capture, "one\ntwo\nthree", 5);
  capture.finish_line();
  CHECK(*capture.read_all() == "x\tone\nx\ttwo\nx\tthree\n");
  CHECK(budget.pipe_used == 0);
}

TEST_CASE("pool::Capture: without room for a holding pipe in the budget, output goes to memory", "[pool]") {
  MemoryBudget budget;
  SpillFile spill;
  budget.pipe_total = 32 << 10; // under the kernel's default pipe size: not worth a pipe
  Capture capture(budget, spill);
  capture.use_holding_pipe(true);
  auto data = random_bytes(300000, 3);
  JobPipe job;
  job.feed(capture, data, 65536);
  CHECK(budget.pipe_used == 0);
  CHECK(*capture.read_all() == data);
}

namespace {

// Two jobs' stdout taken one after the other by captures that may hold it in pipes; returns
// `measure()` of the budget after each. Neither job's bytes may be lost either way.
template <typename Measure>
std::pair<std::size_t, std::size_t> hold_two(MemoryBudget& budget, Measure measure) {
  SpillFile spill;
  Capture first(budget, spill);
  first.use_holding_pipe(true);
  Capture second(budget, spill);
  second.use_holding_pipe(true);
  JobPipe a;
  a.feed(first, "first\n", 100);
  std::size_t after_first = measure();
  JobPipe b;
  b.feed(second, "second\n", 100);
  std::size_t after_second = measure();
  CHECK(*first.read_all() == "first\n");
  CHECK(*second.read_all() == "second\n");
  return {after_first, after_second};
}

} // namespace

TEST_CASE(
    "pool::Capture: a holding pipe the kernel keeps smaller still counts what was asked for, so no more pipes come in",
    "[pool]") {
  // A size past 2 GiB is one the kernel refuses (EINVAL) for anyone: the pipe keeps 64 KiB.
  MemoryBudget budget;
  budget.pipe_per_capture = (std::size_t{1} << 31) + 4096;
  budget.pipe_total = budget.pipe_per_capture + (32 << 10);
  auto [after_first, after_second] = hold_two(budget, [&] { return budget.pipe_used; });
  CHECK(after_first == budget.pipe_per_capture);
  CHECK(after_second == budget.pipe_per_capture); // the second took no pipe: 32 KiB were left
}

TEST_CASE("pool::Capture: no more holding pipes at once than pipe_count_max", "[pool]") {
  MemoryBudget budget;
  budget.pipe_count_max = 1;
  auto [after_first, after_second] = hold_two(budget, [&] { return budget.pipe_count; });
  CHECK(after_first == 1);
  CHECK(after_second == 1); // the second job's bytes went to memory
}
