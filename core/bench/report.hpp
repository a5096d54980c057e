// bench's figures: adding up the workers' parts, deciding whether the server was there at all,
// and the text, JSON and progress lines. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string>

#include "core/bench/bench.hpp"

namespace netlab::bench {

// Adds one worker's part to `total`: counts and latencies add up, the run lasted as long as the
// longest part, and the first error found is kept.
void merge(BenchResult& total, const BenchResult& part);

// Whether the server was not there at all (exit 255 material, not a misbehaving server): over TCP
// not one connection was made and something failed; over UDP not one answer came and the port
// refused (`refused`: some worker saw ICMP port unreachable or a refused connect).
bool server_absent(const BenchConfig& config, const BenchResult& total, bool refused);

// "tcp rr", "tcp rr (open loop)", "tls stream", "udp rr", ...
std::string mode_name(const BenchConfig& config);
// The one-line summary.
std::string format_text(const BenchConfig& config, const BenchResult& result);
// The summary as one JSON object.
std::string format_json(const BenchConfig& config, const BenchResult& result);
// The progress line after `elapsed_s` seconds (> 0) with these totals so far; streaming counts
// bytes, the other modes round trips.
std::string progress_text(const BenchConfig& config, double elapsed_s, std::uint64_t messages, std::uint64_t bytes);

} // namespace netlab::bench
