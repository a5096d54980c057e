// Unit tests for the pure parts of core/ssh/session and core/ssh/remote_command: where a host
// spec ends up, and how commands and statuses are put together.
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

TEST_CASE("ssh::ExecOutcome::exit_code: the status, 128+N for a known signal, 255 for an unknown one, 124 on timeout") {
  ExecOutcome outcome;
  outcome.exit_status = 3;
  CHECK(outcome.exit_code() == 3);
  outcome.exit_status = -1;
  outcome.signal = "KILL";
  CHECK(outcome.exit_code() == 137);
  outcome.signal = "WEIRD";
  CHECK(outcome.exit_code() == 255);
  outcome.timed_out = true;
  CHECK(outcome.exit_code() == 124);
}
