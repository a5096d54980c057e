// exec-server's per-loop services: the framed protocol (protocol.md §3) and the seed-compatible
// legacy one (§4). Both run each command as an exec::Job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/exec/request.hpp"
#include "core/frame/frame.hpp"
#include "core/net/server.hpp"
#include "core/util/duration.hpp"

namespace netlab::exec {

struct ExecServiceConfig {
  // Empty: no authentication (`"auth":"none"`).
  std::string token;
  Policy policy;
  std::uint64_t max_output = 1ull << 30;
  // Commands running at once on this server; more get `busy`.
  std::size_t max_running = 64;
  frame::Limits limits;
  // After the SIGTERM of a timed-out command, how long before SIGKILL.
  Seconds kill_grace{2.0};
  // How long a connection may sit without a running command; 0: for ever.
  Seconds idle_timeout{300};
  // How long a connection has to authenticate (with a token); 0: only idle_timeout applies.
  Seconds auth_timeout{10};
  // Connections still to authenticate at once; one more evicts the oldest of them, so strangers
  // that connect and say nothing cannot keep the token holder out.
  std::size_t max_unauthenticated = 32;
  // Failed authentications per peer address (127.0.0.0/8 counts as one, IPv6 by /64): a burst
  // of auth_burst, then one per auth_interval; attempts beyond wait their turn.
  std::size_t auth_burst = 10;
  Seconds auth_interval{0.1};
  // Bytes queued to a client that is not reading before we stop reading the command's output.
  std::size_t max_buffered = 1 << 20;
  // Exec requests a client may pipeline before we stop reading its socket.
  std::size_t max_queued = 16;
  // Legacy mode answers with the whole output at once, so it must hold it: at most this much
  // per command (more is cut and `truncated` set).
  std::uint64_t legacy_max_output = 64ull << 20;
  // Output all legacy connections of a loop may hold at once, collected or queued to clients
  // that do not read it; beyond it, running commands stop being read (they block on their pipes)
  // until clients take what is queued.
  std::uint64_t legacy_max_held = 128ull << 20;
  // What a legacy command line is run with (the line is appended as the last argument); the
  // fuzz target swaps in a harmless program.
  std::vector<std::string> legacy_shell = {"/bin/sh", "-c"};
};

std::unique_ptr<net::Service> make_exec_service(loop::Loop& loop, const ExecServiceConfig& options);
std::unique_ptr<net::Service> make_legacy_service(loop::Loop& loop, const ExecServiceConfig& options);

// The struct.pack('i', n) little-endian signed length the classic client unpacks.
std::string legacy_length_prefix(std::uint32_t length);

} // namespace netlab::exec
