// The UDP echo server (protocol.md §5): each datagram is answered with one datagram to its sender.
#pragma once

#include <cstdint>
#include <string>

#include "core/net/access.hpp"
#include "core/net/address.hpp"
#include "core/util/result.hpp"

namespace netlab::udp {

struct UdpServerConfig {
  net::Address address;
  bool upper = false;
  std::string port_file;
  // --allow-from/--deny-from, checked on every datagram. max_conns_per_ip must stay 0: UDP has
  // no connections to count.
  net::AccessPolicy access;
};

struct ServerCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  // Datagrams larger than the receive buffer: reported and dropped, never echoed cut short.
  std::uint64_t truncated = 0;
  std::uint64_t send_errors = 0;
  // Datagrams from peers the access rules refuse: dropped unanswered.
  std::uint64_t refused = 0;
  // Datagrams whose echo would loop (loop_guard.hpp): from port 0, a classic service's port
  // that answers everything, an unspecified address or this server's own address:port, and the
  // repeats EchoLoopBreaker drops. Dropped unanswered.
  std::uint64_t looping = 0;
};

// Runs until SIGINT or SIGTERM, then returns success. Prints `listening on ADDR` once bound.
Result<ServerCounters> run_udp_server(const UdpServerConfig& config);

} // namespace netlab::udp
