// Access rules and per-address connection counts.
#include "core/net/access.hpp"

#include <fmt/format.h>

namespace netlab::net {

std::optional<std::string> rule_refusal(const AccessPolicy& policy, const std::optional<IpAddress>& peer) {
  if (policy.allow_from.empty() && policy.deny_from.empty()) {
    return std::nullopt;
  }
  if (!peer) {
    return policy.allow_from.empty() ? std::nullopt : std::optional<std::string>("no IP address to match --allow-from");
  }
  for (const auto& rule : policy.deny_from) {
    if (rule.contains(*peer)) {
      return fmt::format("matches --deny-from {}", rule.to_string());
    }
  }
  if (policy.allow_from.empty()) {
    return std::nullopt;
  }
  for (const auto& rule : policy.allow_from) {
    if (rule.contains(*peer)) {
      return std::nullopt;
    }
  }
  return std::string("matches no --allow-from");
}

PeerSlot& PeerSlot::operator=(PeerSlot&& other) noexcept {
  if (this != &other) {
    release();
    m_counter = other.m_counter;
    m_ip = other.m_ip;
    other.m_counter = nullptr;
  }
  return *this;
}

void PeerSlot::release() {
  if (m_counter != nullptr) {
    m_counter->release(m_ip);
    m_counter = nullptr;
  }
}

std::optional<PeerSlot> PeerCounter::acquire(const IpAddress& ip) {
  std::lock_guard lock(m_mutex);
  auto& count = m_counts[ip];
  if (count >= m_limit) {
    if (count == 0) {
      m_counts.erase(ip);
    }
    return std::nullopt;
  }
  ++count;
  return PeerSlot(this, ip);
}

void PeerCounter::release(const IpAddress& ip) {
  std::lock_guard lock(m_mutex);
  auto it = m_counts.find(ip);
  if (it != m_counts.end() && --it->second == 0) {
    m_counts.erase(it);
  }
}

std::size_t PeerCounter::count(const IpAddress& ip) const {
  std::lock_guard lock(m_mutex);
  auto it = m_counts.find(ip);
  return it == m_counts.end() ? 0 : it->second;
}

std::size_t PeerCounter::addresses() const {
  std::lock_guard lock(m_mutex);
  return m_counts.size();
}

Result<PeerSlot> AccessGate::admit(const sockaddr* peer) {
  if (!active()) {
    return PeerSlot();
  }
  auto ip = ip_of(peer);
  if (!ip) {
    return fail("peer address unknown");
  }
  if (auto why = rule_refusal(m_policy, ip)) {
    return fail(*why);
  }
  if (m_policy.max_conns_per_ip == 0) {
    return PeerSlot();
  }
  auto slot = m_counter.acquire(*ip);
  if (!slot) {
    return fail(fmt::format("--max-conns-per-ip {} reached for {}", m_policy.max_conns_per_ip, ip->to_string()));
  }
  return std::move(*slot);
}

std::optional<std::string> AccessGate::refusal(const sockaddr* peer) const {
  return rule_refusal(m_policy, ip_of(peer));
}

} // namespace netlab::net
