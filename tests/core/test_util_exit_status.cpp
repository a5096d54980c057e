// Unit tests for core/util/exit_status: how a process ended, and the one shell rule for it.
#include <csignal>

#include <catch2/catch.hpp>

#include "core/util/exit_status.hpp"

using namespace netlab;

TEST_CASE("ExitStatus::shell_status: an exit code is reported as given", "[util]") {
  CHECK(ExitStatus::exited(0).shell_status() == k_exit_ok);
  CHECK(ExitStatus::exited(3).shell_status() == 3);
  CHECK(ExitStatus::exited(255).shell_status() == 255);
}

TEST_CASE("ExitStatus::shell_status: a code no process can give is cut to its low byte, as exit(3) does", "[util]") {
  CHECK(ExitStatus::exited(256).shell_status() == 0);
  CHECK(ExitStatus::exited(256 + 7).shell_status() == 7);
  CHECK(ExitStatus::exited(-1).shell_status() == 255);
}

TEST_CASE("ExitStatus::shell_status: killed by signal N is 128 + N", "[util]") {
  CHECK(ExitStatus::signaled(SIGKILL).shell_status() == 137);
  CHECK(ExitStatus::signaled(SIGINT).shell_status() == k_exit_interrupted);
  CHECK(ExitStatus::signaled(SIGPIPE).shell_status() == k_exit_broken_pipe);
}

TEST_CASE("ExitStatus::shell_status: a terminal stop reports the stopping signal, 128 + N", "[util]") {
  auto stopped = ExitStatus::stopped_for_terminal(SIGTTIN);
  CHECK(stopped.shell_status() == signal_exit_status(SIGTTIN));
  CHECK(stopped.term_signal() == SIGTTIN);
  CHECK(stopped.terminal_stop() == SIGTTIN);
  CHECK(ExitStatus::signaled(SIGTTOU).terminal_stop() == 0);
}

TEST_CASE("ExitStatus::shell_status: unknown, and a signal number no shell can report, are 255", "[util]") {
  CHECK(ExitStatus::unknown().shell_status() == k_exit_connect);
  CHECK(ExitStatus::signaled(0).shell_status() == k_exit_connect);
  CHECK(ExitStatus::signaled(-3).shell_status() == k_exit_connect);
  CHECK(ExitStatus::signaled(128).shell_status() == k_exit_connect);
}

TEST_CASE("ExitStatus::shell_status: timed out wins over the signal, code or unknown it ended with", "[util]") {
  for (auto ending : {ExitStatus::signaled(SIGTERM), ExitStatus::signaled(SIGKILL), ExitStatus::exited(0),
                      ExitStatus::exited(143), ExitStatus::stopped_for_terminal(SIGTTOU), ExitStatus::unknown()}) {
    ending.timed_out = true;
    CHECK(ending.shell_status() == k_exit_timeout);
  }
}

TEST_CASE("ExitStatus::term_signal: the killing signal only; a code or unknown has none", "[util]") {
  CHECK(ExitStatus::signaled(SIGTERM).term_signal() == SIGTERM);
  CHECK(ExitStatus::exited(SIGTERM).term_signal() == 0);
  CHECK(ExitStatus::unknown().term_signal() == 0);
}

TEST_CASE("ExitStatus::succeeded: exit 0 and no deadline, nothing else", "[util]") {
  CHECK(ExitStatus::exited(0).succeeded());
  CHECK(ExitStatus{}.succeeded());
  auto late = ExitStatus::exited(0);
  late.timed_out = true;
  CHECK_FALSE(late.succeeded());
  CHECK_FALSE(ExitStatus::exited(1).succeeded());
  CHECK_FALSE(ExitStatus::exited(256).succeeded());
  CHECK_FALSE(ExitStatus::signaled(SIGTERM).succeeded());
  CHECK_FALSE(ExitStatus::unknown().succeeded());
}

TEST_CASE("ExitStatus: every case and the timeout flag are told apart by ==", "[util]") {
  CHECK(ExitStatus::exited(9) != ExitStatus::signaled(9));
  CHECK(ExitStatus::signaled(SIGTTIN) != ExitStatus::stopped_for_terminal(SIGTTIN));
  CHECK(ExitStatus::exited(0) != ExitStatus::unknown());
  auto late = ExitStatus::signaled(SIGTERM);
  late.timed_out = true;
  CHECK(late != ExitStatus::signaled(SIGTERM));
}
