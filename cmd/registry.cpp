// Adding a subcommand: one file cmd/NAME.cpp defining setup_NAME, and one row here.
#include "cmd/registry.hpp"

#include <array>

namespace netlab::cmd {

#define NETLAB_COMMANDS(X) \
  X("echo-server", echo_server, "TCP and unix-socket echo server on a libuv loop") \
  X("echo-client", echo_client, "line client for any stream server, or netcat-style raw copy") \
  X("exec-server", exec_server, "remote command execution over framed TCP: token auth, limits, legacy mode") \
  X("exec-client", exec_client, "run a command on an exec-server and exit with its status, or a REPL") \
  X("udp-echo", udp_echo, "UDP echo server, and a client that reports lost datagrams") \
  X("select-server", select_server, "echo server on the IO model you choose, with stats to compare") \
  X("bench", bench, "load generator for echo servers: TCP rr/stream/connect and UDP, verified") \
  X("probe", probe, "check that TCP addresses accept connections; --wait until they do") \
  X("pool-run", pool_run, "run many commands with a bounded process pool, like xargs -P or GNU parallel") \
  X("pack", pack, "pack values into bytes like Python struct.pack; write frame files") \
  X("unpack", unpack, "unpack bytes into values like Python struct.unpack; read frame files") \
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
