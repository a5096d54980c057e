// The UDP echo client: one datagram per input line, a reply awaited with a timeout, retries, and
// an account of what was lost.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/net/address.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::udp {

struct UdpClientConfig {
  net::Address address;
  // How long to wait for each reply before sending the datagram again.
  Seconds timeout{1.0};
  // Extra sends of a datagram whose reply did not come; after them it counts as lost.
  int retries = 2;
  int in_fd = 0;
  int out_fd = 1;
};

struct ClientReport {
  std::uint64_t sent = 0; // datagrams (lines), not counting retries
  std::uint64_t answered = 0;
  std::uint64_t retries = 0; // extra sends
  std::uint64_t late = 0;    // replies to an earlier send that arrived after we moved on
  std::uint64_t truncated = 0;
  std::uint64_t too_large = 0;           // lines over the UDP limit, not sent
  std::vector<std::uint64_t> lost_lines; // 1-based input line numbers
  // Lines whose only replies were neither their echo nor a late echo of an earlier line.
  std::vector<std::uint64_t> differed_lines;
  // Sends the kernel answered with ECONNREFUSED (an ICMP port unreachable: nothing listens).
  std::uint64_t refused = 0;
  bool failed() const { return !lost_lines.empty() || !differed_lines.empty() || truncated > 0 || too_large > 0; }
};

// Whether `reply` answers `request`: the same bytes, or their ASCII upper-casing (a server
// started with --upper).
bool reply_matches(std::string_view request, std::string_view reply);

// Sends each line of `in_fd` (without its newline) and prints each reply as a line on `out_fd`.
// Fails with exit code 255 when the address cannot be resolved or the socket set up, 1 when
// sending or receiving fails.
Result<ClientReport> run_udp_client(const UdpClientConfig& options);

} // namespace netlab::udp
