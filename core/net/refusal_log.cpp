#include "core/net/refusal_log.hpp"

#include "core/util/log.hpp"

namespace netlab::net {

void RefusalLog::note(std::uint64_t now_ms, const std::string& why, const std::string& peer) {
  ++m_count;
  if (m_logged_at && now_ms - *m_logged_at < 1000) {
    return;
  }
  if (peer.empty()) {
    log::info("refused {} connection(s): {}", m_count, why);
  } else {
    log::info("refused {} connection(s), latest from {}: {}", m_count, peer, why);
  }
  m_logged_at = now_ms;
  m_count = 0;
}

} // namespace netlab::net
