// Who may connect: --allow-from/--deny-from rules and the --max-conns-per-ip count, decided on
// a peer's address before any of its bytes are read. Every server (libuv, the classic models,
// UDP) asks the same AccessGate.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "core/net/cidr.hpp"
#include "core/util/result.hpp"

namespace netlab::net {

struct AccessPolicy {
  std::vector<Cidr> allow_from;
  std::vector<Cidr> deny_from;
  // Open connections one address may hold; 0 for no limit.
  std::size_t max_conns_per_ip = 0;

  bool empty() const { return allow_from.empty() && deny_from.empty() && max_conns_per_ip == 0; }
};

// Why the rules refuse `peer`, or nullopt if they let it in. A deny match wins over any allow;
// with allow rules present, a peer must match one. A peer without an IP address (nullopt)
// matches no rule.
std::optional<std::string> rule_refusal(const AccessPolicy& policy, const std::optional<IpAddress>& peer);

class PeerCounter;

// One counted connection from an address; destroying it gives the count back. Empty when
// nothing was counted (no per-address limit).
class PeerSlot {
public:
  PeerSlot() = default;
  PeerSlot(PeerCounter* counter, IpAddress ip) : m_counter(counter), m_ip(ip) {}
  ~PeerSlot() { release(); }
  PeerSlot(PeerSlot&& other) noexcept : m_counter(other.m_counter), m_ip(other.m_ip) { other.m_counter = nullptr; }
  PeerSlot& operator=(PeerSlot&& other) noexcept;
  PeerSlot(const PeerSlot&) = delete;
  PeerSlot& operator=(const PeerSlot&) = delete;

  void release();

private:
  PeerCounter* m_counter = nullptr;
  IpAddress m_ip;
};

// Open connections per address, shared by every thread of a server.
class PeerCounter {
public:
  explicit PeerCounter(std::size_t limit) : m_limit(limit) {}

  // Counts one more connection from `ip`, or nullopt if it already holds `limit`.
  std::optional<PeerSlot> acquire(const IpAddress& ip);
  std::size_t count(const IpAddress& ip) const;
  // Addresses holding at least one connection; entries are dropped at zero so a scan of many
  // addresses costs nothing once they leave.
  std::size_t addresses() const;

private:
  friend class PeerSlot;
  void release(const IpAddress& ip);

  std::size_t m_limit;
  mutable std::mutex m_mutex;
  std::map<IpAddress, std::size_t> m_counts;
};

class AccessGate {
public:
  explicit AccessGate(AccessPolicy policy) : m_policy(std::move(policy)), m_counter(m_policy.max_conns_per_ip) {}

  // False when no option was given: servers then skip the peer lookup altogether.
  bool active() const { return !m_policy.empty(); }

  // A new connection: the rules, then the per-address count. The slot must live as long as the
  // connection. A peer whose address cannot be read is refused, since no rule can vouch for it.
  Result<PeerSlot> admit(const sockaddr* peer);

  // A datagram: the rules only, since UDP has no connections to count.
  std::optional<std::string> refusal(const sockaddr* peer) const;

  const PeerCounter& counter() const { return m_counter; }

private:
  AccessPolicy m_policy;
  PeerCounter m_counter;
};

} // namespace netlab::net
