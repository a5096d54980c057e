// Unit tests for core/util/status_line: the one-line terminal status.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/util/status_line.hpp"

namespace {

std::string drain(int fd) {
  std::string out;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace

TEST_CASE("StatusLine: each update replaces the line, clear erases it once") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    netlab::StatusLine line(fds[1]);
    line.clear(); // nothing shown yet: nothing written
    line.show("1 done");
    line.show("2 done");
    CHECK(line.shown());
    line.clear();
    line.clear();
    CHECK_FALSE(line.shown());
  }
  ::close(fds[1]);
  CHECK(drain(fds[0]) == "\r\033[K1 done\r\033[K2 done\r\033[K");
  ::close(fds[0]);
}
