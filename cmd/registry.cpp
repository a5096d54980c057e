// Adding a subcommand: one file cmd/NAME.cpp defining setup_NAME, and one row here. A summary
// fits `netlab --help`'s one line per command: at most 63 characters (a test checks).
#include "cmd/registry.hpp"

#include <array>

namespace netlab::cmd {

#define NETLAB_COMMANDS(X) \
  X("echo-server", echo_server, "TCP and unix-socket echo server on a libuv loop") \
  X("echo-client", echo_client, "line client for any stream server, or netcat-style raw copy") \
  X("exec-server", exec_server, "remote command execution over framed TCP, with token auth") \
  X("exec-client", exec_client, "run a command on an exec-server and exit with its status") \
  X("udp-echo", udp_echo, "UDP echo server, and a client that reports lost datagrams") \
  X("select-server", select_server, "echo server on the IO model you choose, with stats to compare") \
  X("bench", bench, "verifying load generator for echo servers, TCP and UDP") \
  X("probe", probe, "check that TCP ports accept connections; --wait until they do") \
  X("pool-run", pool_run, "run many commands on a bounded process pool, like xargs -P") \
  X("pack", pack, "pack values into bytes like Python struct.pack; frame files") \
  X("unpack", unpack, "unpack bytes into values like Python struct.unpack; frame files") \
  X("ssh-exec", ssh_exec, "run a command on one or many hosts over SSH, with SFTP put/get") \
  X("completions", completions, "print the bash, zsh or fish completion script")

#define NETLAB_DECLARE(name, id, summary) Runner setup_##id(CLI::App& app);
NETLAB_COMMANDS(NETLAB_DECLARE)
#undef NETLAB_DECLARE

namespace {
#define NETLAB_ROW(name, id, summary) Command{name, summary, &setup_##id},
const std::array k_commands = {NETLAB_COMMANDS(NETLAB_ROW)};
#undef NETLAB_ROW
} // namespace

std::span<const Command> commands() { return k_commands; }

const Command* find_command(std::string_view name) {
  for (const auto& command : k_commands) {
    if (command.name == name) {
      return &command;
    }
  }
  return nullptr;
}

} // namespace netlab::cmd
