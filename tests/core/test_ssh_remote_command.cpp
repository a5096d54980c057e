// Unit tests for core/ssh/remote_command: the watchdog wrapper around a remote command and
// RFC 4254's signal names.
#include <catch2/catch.hpp>

#include <signal.h>

#include <string>

#include "core/ssh/remote_command.hpp"

TEST_CASE(
    "ssh::supervised_command: the command is one quoted argument of the watchdog; RFC 4254 signal names map both ways",
    "[ssh]") {
  auto wrapped = netlab::ssh::supervised_command("echo 'a b'; exit 3");
  CHECK(wrapped.rfind("exec /bin/sh -c '", 0) == 0);
  // The command comes last, single-quoted, with its own quote escaped the POSIX way.
  std::string tail = " netlab-job 'echo '\\''a b'\\''; exit 3'";
  REQUIRE(wrapped.size() > tail.size());
  CHECK(wrapped.substr(wrapped.size() - tail.size()) == tail);
  CHECK(netlab::ssh::rfc4254_signal_name(SIGTERM) == std::string("TERM"));
  CHECK(netlab::ssh::rfc4254_signal_number("KILL") == SIGKILL);
  CHECK(netlab::ssh::rfc4254_signal_name(SIGCHLD) == std::string(""));
}
