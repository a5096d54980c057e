// Refused connections, logged at most once a second with how many there were since the last
// line: a flood of connections must not turn into a flood of log lines. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace netlab::net {

class RefusalLog {
public:
  // Counts one refusal at `now_ms` (any monotonic millisecond clock; the caller's loop time or
  // steady_clock) and logs "refused N connection(s)[, latest from PEER]: WHY" when a second has
  // passed since the last line (the first refusal always logs).
  void note(std::uint64_t now_ms, const std::string& why, const std::string& peer = {});

private:
  std::optional<std::uint64_t> m_logged_at; // none yet: the first refusal logs at once
  std::size_t m_count = 0;
};

} // namespace netlab::net
