// Unit tests for core/net/refusal_log: refused connections are summarised at most once a second,
// with a count, so a flood of refusals cannot become a flood of log lines. The clock is the
// caller's (milliseconds passed to note()), so the tests drive it by hand: no sleeps.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "core/net/refusal_log.hpp"
#include "core/util/fd.hpp"
#include "core/util/log.hpp"

using namespace netlab;

namespace {

// Points stderr (where log lines go) at a non-blocking pipe while it lives.
class StderrCapture {
public:
  StderrCapture() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    m_read.reset(fds[0]);
    Fd write_end(fds[1]);
    m_saved.reset(::dup(STDERR_FILENO));
    REQUIRE(m_saved);
    REQUIRE(::dup2(write_end.get(), STDERR_FILENO) == STDERR_FILENO);
  }
  ~StderrCapture() { ::dup2(m_saved.get(), STDERR_FILENO); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  // The log lines written since the last call, without the "netlab: COMMAND: " prefix.
  std::vector<std::string> lines() {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(m_read.get(), buffer, sizeof buffer)) > 0) {
      m_pending.append(buffer, static_cast<std::size_t>(n));
    }
    REQUIRE((n == -1 && errno == EAGAIN));
    std::string prefix = log::command().empty() ? "netlab: " : "netlab: " + log::command() + ": ";
    std::vector<std::string> out;
    for (auto end = m_pending.find('\n'); end != std::string::npos; end = m_pending.find('\n')) {
      auto line = m_pending.substr(0, end);
      m_pending.erase(0, end + 1);
      REQUIRE(line.rfind(prefix, 0) == 0);
      out.push_back(line.substr(prefix.size()));
    }
    return out;
  }

private:
  Fd m_read;
  Fd m_saved;
  std::string m_pending;
};

// The N of a "refused N connection(s)..." line.
std::size_t count_of(const std::string& line) {
  REQUIRE(line.rfind("refused ", 0) == 0);
  return std::stoul(line.substr(8));
}

} // namespace

TEST_CASE("net::RefusalLog: the first refusal is logged at once, with the peer and the reason") {
  StderrCapture capture;
  net::RefusalLog log;
  log.note(5000, "too many connections", "127.0.0.1:40000");
  CHECK(capture.lines() ==
        std::vector<std::string>{"refused 1 connection(s), latest from 127.0.0.1:40000: too many connections"});
}

TEST_CASE("net::RefusalLog: without a peer the line gives the count and the reason only") {
  StderrCapture capture;
  net::RefusalLog log;
  log.note(5000, "out of descriptors");
  CHECK(capture.lines() == std::vector<std::string>{"refused 1 connection(s): out of descriptors"});
}

TEST_CASE("net::RefusalLog: refusals within a second of a line are counted into the next one, also from a clock at 0") {
  // A clock that reads 0 at the first refusal must hold the next ones like any other.
  const std::uint64_t t = GENERATE(0, 5000);
  StderrCapture capture;
  net::RefusalLog log;
  log.note(t, "first", "a");
  REQUIRE(capture.lines().size() == 1);
  log.note(t + 1, "second", "b");
  log.note(t + 500, "third", "c");
  log.note(t + 999, "fourth", "d");
  CHECK(capture.lines().empty());
  // A second after the last line: one line for all four since, naming the latest.
  log.note(t + 1000, "fifth", "e");
  CHECK(capture.lines() == std::vector<std::string>{"refused 4 connection(s), latest from e: fifth"});
  // The count starts again from that line.
  log.note(t + 1999, "sixth", "f");
  CHECK(capture.lines().empty());
  log.note(t + 2000, "seventh", "g");
  CHECK(capture.lines() == std::vector<std::string>{"refused 2 connection(s), latest from g: seventh"});
}

TEST_CASE("net::RefusalLog: a flood gives at most one line a second and loses no refusal from the counts") {
  StderrCapture capture;
  net::RefusalLog log;
  // 10,000 refusals, one every 0.25 ms of the clock (2.5 s), then one more 2 s later to log the rest.
  constexpr std::size_t k_total = 10'000;
  std::size_t noted = 0;
  for (std::size_t i = 0; i < k_total; ++i) {
    log.note(1000 + i / 4, "too many connections", "127.0.0.1:40000");
    ++noted;
  }
  log.note(1000 + k_total / 4 + 2000, "too many connections");
  ++noted;
  auto lines = capture.lines();
  // At 1000, 2000, 3000 (the flood's three seconds) and the last one.
  CHECK(lines.size() == 4);
  std::size_t counted = 0;
  for (const auto& line : lines) {
    counted += count_of(line);
  }
  CHECK(counted == noted);
}
