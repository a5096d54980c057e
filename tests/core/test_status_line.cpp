// Unit tests for the terminal status line and the SFTP progress text.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/ssh/exec.hpp"
#include "core/ssh/transfer_progress.hpp"
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

TEST_CASE("TransferProgress::render: share of a known total, or bytes alone") {
  using netlab::ssh::TransferProgress;
  CHECK(TransferProgress::render(50'000'000, 1, 200'000'000, 2.0) ==
        "sftp: [#####...............]  25% 50.0/200.0 MB, 25.0 MB/s, 1 file done");
  CHECK(TransferProgress::render(300, 0, 200, 1.0).find("100%") != std::string::npos); // never past 100
  CHECK(TransferProgress::render(3'000'000, 2, 0, 0) == "sftp: 3.0 MB, 2 files done");
}

TEST_CASE("ssh supervised_command: the command is one quoted argument of the watchdog") {
  auto wrapped = netlab::ssh::supervised_command("echo 'a b'; exit 3");
  CHECK(wrapped.rfind("exec /bin/sh -c '", 0) == 0);
  // The command comes last, single-quoted, with its own quote escaped the POSIX way.
  std::string tail = " netlab-job 'echo '\\''a b'\\''; exit 3'";
  REQUIRE(wrapped.size() > tail.size());
  CHECK(wrapped.substr(wrapped.size() - tail.size()) == tail);
  CHECK(netlab::ssh::signal_name(SIGTERM) == std::string("TERM"));
  CHECK(netlab::ssh::signal_number("KILL") == SIGKILL);
  CHECK(netlab::ssh::signal_name(SIGCHLD) == std::string(""));
}
