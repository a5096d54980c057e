// Fd: the one descriptor owner closes exactly what it holds, once.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "core/util/fd.hpp"

using namespace netlab;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::pair<int, int> make_pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  return {fds[0], fds[1]};
}

} // namespace

TEST_CASE("Fd: closes on destruction, not after release") {
  auto [r, w] = make_pipe();
  {
    Fd owned(r);
    CHECK(owned);
    CHECK(owned.get() == r);
  }
  CHECK_FALSE(is_open(r));
  {
    Fd owned(w);
    CHECK(owned.release() == w);
    CHECK_FALSE(owned);
  }
  CHECK(is_open(w));
  ::close(w);
}

TEST_CASE("Fd: moving hands ownership over, assigning and reset close what was held") {
  auto [r, w] = make_pipe();
  Fd a(r);
  Fd b(std::move(a));
  CHECK_FALSE(a);
  CHECK(b.get() == r);
  b = Fd(w);
  CHECK_FALSE(is_open(r));
  CHECK(is_open(w));
  b.reset();
  CHECK_FALSE(is_open(w));
  CHECK_FALSE(b);
}
