// --idle-timeout for the classic models.
#pragma once

#include <chrono>
#include <cstddef>

#include "core/models/model.hpp"

namespace netlab::models {

class EchoConnection;

// --idle-timeout in the clock's unit; zero (no timeout) for 0 or less. Capped at k_max_wait (about
// 31 years) so the nanosecond count cannot overflow.
std::chrono::steady_clock::duration idle_limit(Seconds idle_timeout);

// A poll/epoll timeout in milliseconds that does not wake before `left` has passed.
int timeout_ms(std::chrono::steady_clock::duration left);

// --idle-timeout for the readiness models, without a timer per connection: each connection
// remembers its last progress and the model scans them once a period, capping its wait so the
// scan happens even when nothing is ready. The period is a quarter of the timeout but at most a
// second, like net::run_server's sweeper: thousands of open connections cost one scan a second,
// not one per wake-up, and an idle one outlives the timeout by at most a period.
class IdleSweep {
public:
  explicit IdleSweep(Seconds idle_timeout);
  // How long the model may wait before the next scan is due, in milliseconds; -1 (no limit)
  // without a timeout or with nothing open to scan.
  int wait_ms(std::size_t open) const;
  // True when a scan is due; the next one is then a period away.
  bool due();
  // Whether the connection made no progress for longer than the timeout, as of the scan; if so
  // it is counted as an idle close, and the model closes it.
  bool expired(const EchoConnection& connection, Stats& stats) const;

private:
  std::chrono::steady_clock::duration m_limit{};
  std::chrono::steady_clock::duration m_period{};
  std::chrono::steady_clock::time_point m_next;
  std::chrono::steady_clock::time_point m_now;
};

} // namespace netlab::models
