// Unit tests for core/loop/poll: readiness of a pipe on a real loop, the descriptor owned and
// closed only after the handle, and a descriptor libuv refuses; each test ends by requiring that
// the loop closes with nothing left open.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <string>

#include "core/loop/poll.hpp"
#include "core/util/error.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

} // namespace

TEST_CASE("loop::Poll: says when a pipe is readable, then at its end, and closes the descriptor with the handle",
          "[loop]") {
  loop::Loop loop;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  auto poll = loop::Poll::create(loop, Fd(fds[0]));
  CHECK(poll->fd() == fds[0]);
  std::string got;
  bool ended = false;
  bool closed_at_close = false;
  int read_end = fds[0];
  REQUIRE(::write(fds[1], "abc", 3) == 3);
  REQUIRE(poll->start(UV_READABLE | UV_DISCONNECT, [&](int status, int) {
    REQUIRE(status == 0);
    char buffer[16];
    ssize_t n = ::read(poll->fd(), buffer, sizeof(buffer));
    if (n > 0) {
      got.append(buffer, static_cast<std::size_t>(n));
      // The writer goes once the first bytes were seen: the next readiness is the end.
      if (fds[1] >= 0) {
        ::close(fds[1]);
        fds[1] = -1;
      }
      return;
    }
    ended = n == 0;
    poll->close();
    // Closed at once, not an iteration later in libuv's close callback: a pool starting its next
    // job in this same iteration must not hold both jobs' pipes (at a small open-file limit the
    // next job's pipes then failed with EMFILE).
    closed_at_close = poll->fd() == -1 && !is_open(read_end);
  }) == 0);
  loop.run();
  CHECK(got == "abc");
  CHECK(ended);
  CHECK(closed_at_close);
  poll.reset();
  require_clean_close(loop);
}

TEST_CASE("loop::Poll: a descriptor libuv cannot poll (a plain file) throws and is closed", "[loop]") {
  loop::Loop loop;
  FILE* file = tmpfile();
  REQUIRE(file != nullptr);
  int fd = ::dup(fileno(file));
  fclose(file);
  REQUIRE(fd >= 0);
  CHECK_THROWS_AS(loop::Poll::create(loop, Fd(fd)), Error);
  CHECK_FALSE(is_open(fd));
  require_clean_close(loop);
}
