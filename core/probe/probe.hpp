// Is a TCP address accepting connections? One probe per address, optionally retried until a
// deadline ("wait for the port"), like `nc -z` with timings.
#pragma once

#include <string>
#include <vector>

#include "core/net/address.hpp"

namespace netlab::probe {

struct ProbeOptions {
  std::vector<net::Address> addresses;
  // Seconds one connection attempt may take.
  double timeout = 1.0;
  // Seconds to keep retrying closed addresses; negative means a single round.
  double wait = -1;
  // Seconds between rounds while waiting: short enough to notice a server quickly, long enough
  // not to hammer it.
  double interval = 0.1;
};

struct ProbeResult {
  std::string address;
  bool open = false;
  // Time the successful (or last failed) attempt took.
  double connect_ms = 0;
  // Why it is closed: "connection refused", "timed out", ...; empty when open.
  std::string reason;
  int attempts = 0;
};

struct ProbeReport {
  std::vector<ProbeResult> results;
  // --wait was given and its deadline passed with some address still closed.
  bool wait_expired = false;
  bool all_open() const;
};

// One attempt, bounded by `timeout_seconds`.
ProbeResult probe_once(const net::Address& address, double timeout_seconds);

ProbeReport run_probe(const ProbeOptions& options);

// "127.0.0.1:8080 open 0.21 ms" / "127.0.0.1:8081 closed (connection refused)".
std::string format_text(const ProbeResult& result);
// One JSON object, for --json.
std::string format_json(const ProbeResult& result);

} // namespace netlab::probe
