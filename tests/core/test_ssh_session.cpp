// Unit tests for the pure parts of core/ssh/session and core/ssh/remote_command: where a host
// spec ends up, and how commands and statuses are put together.
#include <csignal>

#include <catch2/catch.hpp>

#include "core/ssh/remote_command.hpp"
#include "core/ssh/session.hpp"

using netlab::ssh::ConnectConfig;
using netlab::ssh::ExecOutcome;
using netlab::ssh::parse_host;
using netlab::ssh::resolve_target;

TEST_CASE("ssh::resolve_target: spec beats options beats config beats defaults") {
  ConnectConfig options;
  options.home = "/home/me";
  options.config_text =
      "Host alias\n  HostName 10.9.8.7\n  User cfguser\n  Port 2200\n  IdentityFile ~/.ssh/alias_key\n";

  auto from_config = resolve_target(*parse_host("alias"), options);
  REQUIRE(from_config);
  CHECK(from_config->hostname == "10.9.8.7");
  CHECK(from_config->user == "cfguser");
  CHECK(from_config->port == 2200);
  CHECK(from_config->identity_files == std::vector<std::string>{"/home/me/.ssh/alias_key"});
  CHECK(from_config->label == "alias");

  options.default_user = "cliuser";
  options.default_port = 2300;
  options.identity_files = {"/keys/cli"};
  auto from_options = resolve_target(*parse_host("alias"), options);
  REQUIRE(from_options);
  CHECK(from_options->user == "cliuser");
  CHECK(from_options->port == 2300);
  CHECK(from_options->identity_files == std::vector<std::string>{"/keys/cli", "/home/me/.ssh/alias_key"});

  auto from_spec = resolve_target(*parse_host("root@alias:2400"), options);
  REQUIRE(from_spec);
  CHECK(from_spec->user == "root");
  CHECK(from_spec->port == 2400);
}

TEST_CASE("ssh::resolve_target: default keys only when none are named") {
  ConnectConfig options;
  options.home = "/h";
  auto target = resolve_target(*parse_host("plain"), options);
  REQUIRE(target);
  CHECK(target->port == 22);
  CHECK(!target->user.empty());
  CHECK(target->identity_files == std::vector<std::string>{"/h/.ssh/id_ed25519", "/h/.ssh/id_ecdsa", "/h/.ssh/id_rsa"});
}

TEST_CASE("ssh::join_command joins with spaces; shell_quote single-quotes the POSIX way") {
  CHECK(netlab::ssh::join_command({"ls", "-l", "/tmp"}) == "ls -l /tmp");
  CHECK(netlab::ssh::join_command({"echo $HOME"}) == "echo $HOME");
  CHECK(netlab::ssh::shell_quote("a b") == "'a b'");
  CHECK(netlab::ssh::shell_quote("it's") == "'it'\\''s'");
}

TEST_CASE("ssh::channel_ending: the status wins, then a signal SSH names, else unknown") {
  // A status that came is the ending, whatever signal name came with it.
  CHECK(netlab::ssh::channel_ending(3, "KILL") == netlab::ExitStatus::exited(3));
  CHECK(netlab::ssh::channel_ending(3, "KILL").shell_status() == 3);
  // No status (-1) and a signal of RFC 4254's: killed by it, 128+N.
  CHECK(netlab::ssh::channel_ending(-1, "KILL") == netlab::ExitStatus::signaled(SIGKILL));
  CHECK(netlab::ssh::channel_ending(-1, "KILL").shell_status() == 137);
  // A signal name SSH does not define, or none at all: unknown, 255 as ssh reports it.
  CHECK(netlab::ssh::channel_ending(-1, "WEIRD") == netlab::ExitStatus::unknown());
  CHECK(netlab::ssh::channel_ending(-1, "").shell_status() == 255);
  // A negative status other than libssh's -1 (a server sent a huge uint32) is no status either.
  CHECK(netlab::ssh::channel_ending(-2, "") == netlab::ExitStatus::unknown());
}
