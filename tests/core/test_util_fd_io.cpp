// Unit tests for core/util/fd_io: LineReader's lines come out the same however the input is cut;
// read_available's pieces, bound and results.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/util/error.hpp"
#include "core/util/fd_io.hpp"

using netlab::LineReader;

namespace {

// Writes `data` into a pipe in pieces of random sizes from another thread and reads it back
// with a LineReader.
std::vector<std::string> read_lines(const std::string& data, unsigned seed) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&data, seed, fd = fds[1]] {
    std::mt19937 random(seed);
    std::size_t at = 0;
    while (at < data.size()) {
      std::size_t n = std::min<std::size_t>(1 + random() % 9000, data.size() - at);
      ssize_t written = ::write(fd, data.data() + at, n);
      if (written <= 0) {
        break;
      }
      at += static_cast<std::size_t>(written);
    }
    ::close(fd);
  });
  LineReader reader(fds[0]);
  std::vector<std::string> lines;
  std::string line;
  while (reader.next(line)) {
    lines.push_back(line);
  }
  writer.join();
  ::close(fds[0]);
  return lines;
}

} // namespace

TEST_CASE("LineReader: every line, in order, however the input is cut", "[fd_io]") {
  std::vector<std::string> expected;
  std::string data;
  for (int i = 0; i < 50000; ++i) {
    // Short lines, empty lines, and now and then one longer than a whole read.
    std::string line = i % 7 == 0 ? std::string() : std::string(static_cast<std::size_t>(i % 50), 'a' + i % 26);
    if (i % 9999 == 1) {
      line = std::string(200000, 'L');
    }
    expected.push_back(line);
    data += line + '\n';
  }
  for (unsigned seed : {1u, 2u, 3u}) {
    CHECK(read_lines(data, seed) == expected);
  }
}

TEST_CASE("LineReader: a last line without a newline counts; an empty input has none", "[fd_io]") {
  CHECK(read_lines("one\ntwo", 1) == std::vector<std::string>{"one", "two"});
  CHECK(read_lines("one\n\n", 1) == std::vector<std::string>{"one", ""});
  CHECK(read_lines("", 1).empty());
  CHECK(read_lines("\r\n", 1) == std::vector<std::string>{"\r"});
}

TEST_CASE("read_available: takes what a non-blocking pipe holds, says EAGAIN when empty and 0 at its end", "[fd_io]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
  char buffer[4];
  std::string got;
  auto sink = [&](std::string_view piece) { got.append(piece); };
  CHECK(netlab::read_available(fds[0], buffer, sizeof(buffer), sink) == -EAGAIN);
  REQUIRE(::write(fds[1], "0123456789", 10) == 10);
  // Pieces of four: two whole ones and a short one, which ends the call.
  CHECK(netlab::read_available(fds[0], buffer, sizeof(buffer), sink) == 10);
  CHECK(got == "0123456789");
  // At most 16 pieces a call, however much is there.
  std::string many(100, 'x');
  REQUIRE(::write(fds[1], many.data(), many.size()) == 100);
  CHECK(netlab::read_available(fds[0], buffer, sizeof(buffer), sink) == 64);
  CHECK(netlab::read_available(fds[0], buffer, sizeof(buffer), sink) == 36);
  ::close(fds[1]);
  CHECK(netlab::read_available(fds[0], buffer, sizeof(buffer), sink) == 0);
  ::close(fds[0]);
}

TEST_CASE("LineReader: a read that fails is an error, not the end of the input", "[util]") {
  // A directory as input (`pack --batch < /`) made the command succeed on input it never read.
  int fd = ::open("/", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  LineReader reader(fd);
  std::string line;
  try {
    reader.next(line);
    FAIL("read of a directory was taken for the end of the input");
  } catch (const netlab::Error& e) {
    CHECK(std::string(e.what()) == "read input: is a directory");
    CHECK(e.exit_code() == 1);
  }
  ::close(fd);
}
