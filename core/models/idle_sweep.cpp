#include "core/models/idle_sweep.hpp"

#include <algorithm>
#include <limits>

#include "core/models/echo_connection.hpp"

namespace netlab::models {

using Clock = std::chrono::steady_clock;

Clock::duration idle_limit(Seconds idle_timeout) {
  if (!(idle_timeout > Seconds::zero())) {
    return Clock::duration::zero();
  }
  return std::chrono::duration_cast<Clock::duration>(std::min(idle_timeout, k_max_wait));
}

int timeout_ms(Clock::duration left) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, std::numeric_limits<int>::max()));
}

IdleSweep::IdleSweep(Seconds idle_timeout) : m_limit(idle_limit(idle_timeout)) {
  m_period = std::clamp<Clock::duration>(m_limit / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
  m_next = Clock::now() + m_period;
}

int IdleSweep::wait_ms(std::size_t open) const {
  if (m_limit == Clock::duration::zero() || open == 0) {
    return -1;
  }
  return timeout_ms(m_next - Clock::now());
}

bool IdleSweep::due() {
  if (m_limit == Clock::duration::zero()) {
    return false;
  }
  auto now = Clock::now();
  if (now < m_next) {
    return false;
  }
  m_now = now;
  m_next = now + m_period;
  return true;
}

bool IdleSweep::expired(const EchoConnection& connection, Stats& stats) const {
  if (m_now - connection.last_active() < m_limit) {
    return false;
  }
  stats.idle_closed();
  return true;
}

} // namespace netlab::models
