// Echo-loop checks for udp-echo: pure address comparisons plus one getifaddrs reader.
#include "core/udp/loop_guard.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace netlab::udp {
namespace {

constexpr IpBytes k_mapped_prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

bool is_mapped(const IpBytes& ip) { return std::equal(ip.begin(), ip.begin() + 12, k_mapped_prefix.begin()); }

bool is_unspecified(const IpBytes& ip) {
  // :: and 0.0.0.0 (as ::ffff:0.0.0.0).
  bool zero_tail = std::all_of(ip.begin() + 12, ip.end(), [](std::uint8_t b) { return b == 0; });
  return zero_tail &&
         (is_mapped(ip) || std::all_of(ip.begin(), ip.begin() + 12, [](std::uint8_t b) { return b == 0; }));
}

bool is_loopback(const IpBytes& ip) {
  if (is_mapped(ip)) {
    return ip[12] == 127;
  }
  IpBytes one{};
  one[15] = 1;
  return ip == one;
}

} // namespace

bool is_reflector_port(std::uint16_t port) {
  // inetd refuses its internal services' datagrams from these ports for the same reason.
  return port == 7 || port == 13 || port == 17 || port == 19 || port == 37;
}

IpBytes ip_bytes(const sockaddr* sa) {
  IpBytes ip{};
  if (sa->sa_family == AF_INET) {
    ip = k_mapped_prefix;
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(ip.data() + 12, &in->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::memcpy(ip.data(), &in6->sin6_addr, 16);
  }
  return ip;
}

std::uint16_t port_of(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  }
  return 0;
}

std::optional<std::string_view> loop_refusal(const sockaddr* from, const loop::Endpoint& bound,
                                             const std::vector<IpBytes>& local) {
  if (port_of(from) == 0) {
    return "its source port is 0, which no answer can reach";
  }
  if (is_reflector_port(port_of(from))) {
    return "its source port is a classic UDP service's (echo, daytime, qotd, chargen, time), which answers every "
           "datagram, so the echo would start a loop";
  }
  auto source = ip_bytes(from);
  if (is_unspecified(source)) {
    return "its source address is unspecified, and an answer there would reach this host itself";
  }
  if (port_of(from) != bound.port()) {
    return std::nullopt;
  }
  auto own = ip_bytes(bound.sa());
  bool self = false;
  if (is_unspecified(own)) {
    self = is_loopback(source) || std::find(local.begin(), local.end(), source) != local.end();
  } else {
    self = source == own;
  }
  if (self) {
    return "its source is this server's own address, so the echo would come back to be echoed forever";
  }
  return std::nullopt;
}

std::vector<IpBytes> local_addresses() {
  std::vector<IpBytes> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return out;
  }
  for (auto* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr != nullptr && (it->ifa_addr->sa_family == AF_INET || it->ifa_addr->sa_family == AF_INET6)) {
      out.push_back(ip_bytes(it->ifa_addr));
    }
  }
  ::freeifaddrs(list);
  return out;
}

namespace {

// A 64-bit digest of a sender (address and port) and a payload, never 0 (the empty slot).
std::uint64_t answer_digest(const sockaddr* from, std::string_view data) {
  auto ip = ip_bytes(from);
  std::string_view address(reinterpret_cast<const char*>(ip.data()), ip.size());
  auto source = std::hash<std::string_view>{}(address) ^ (std::uint64_t{port_of(from)} << 48);
  auto digest = std::hash<std::string_view>{}(data) ^ (source * 0x9e3779b97f4a7c15ULL);
  return digest == 0 ? 1 : digest;
}

std::uint64_t random_odd() {
  std::random_device device;
  return ((std::uint64_t{device()} << 32) ^ device()) | 1U;
}

} // namespace

EchoLoopBreaker::EchoLoopBreaker() : m_multiplier(random_odd()), m_current(k_slots), m_previous(k_slots) {}

std::size_t EchoLoopBreaker::slot_of(std::uint64_t digest) const {
  // Multiply-shift with a secret odd multiplier: distinct digests share a home slot by chance only.
  static_assert((k_slots & (k_slots - 1)) == 0, "k_slots must be a power of two");
  constexpr int k_shift = 64 - std::countr_zero(k_slots);
  return static_cast<std::size_t>((digest * m_multiplier) >> k_shift);
}

bool EchoLoopBreaker::holds(const std::vector<std::uint64_t>& table, std::uint64_t digest) const {
  for (auto slot = slot_of(digest);; slot = (slot + 1) & (k_slots - 1)) {
    if (table[slot] == digest) {
      return true;
    }
    if (table[slot] == 0) {
      return false;
    }
  }
}

bool EchoLoopBreaker::should_drop(const sockaddr* from, std::string_view data) {
  auto digest = answer_digest(from, data);
  if (!holds(m_current, digest) && !holds(m_previous, digest)) {
    return false;
  }
  if (++m_repeats < k_bounces) {
    return false;
  }
  m_repeats = 0;
  return true;
}

void EchoLoopBreaker::answered(const sockaddr* from, std::string_view reply) {
  if (m_added == k_generation) {
    // The older generation goes; what was answered since it began is still remembered.
    m_previous.swap(m_current);
    std::fill(m_current.begin(), m_current.end(), 0);
    m_added = 0;
  }
  auto digest = answer_digest(from, reply);
  for (auto slot = slot_of(digest);; slot = (slot + 1) & (k_slots - 1)) {
    if (m_current[slot] == digest) {
      return;
    }
    if (m_current[slot] == 0) {
      m_current[slot] = digest;
      ++m_added;
      return;
    }
  }
}

} // namespace netlab::udp
