// Echo-loop checks for udp-echo: pure address comparisons plus one getifaddrs reader.
#include "core/udp/loop_guard.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

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

std::string source_key(const sockaddr* from) {
  auto ip = ip_bytes(from);
  std::string key(reinterpret_cast<const char*>(ip.data()), ip.size());
  auto port = port_of(from);
  key.push_back(static_cast<char>(port >> 8));
  key.push_back(static_cast<char>(port & 0xff));
  return key;
}

} // namespace

bool EchoLoopBreaker::should_drop(const sockaddr* from, std::string_view data) {
  auto found = m_sources.find(source_key(from));
  if (found == m_sources.end()) {
    return false;
  }
  auto& source = found->second;
  if (std::hash<std::string_view>{}(data) != source.last_reply) {
    source.bounces = 0;
    return false;
  }
  if (++source.bounces < k_bounces) {
    return false;
  }
  source.bounces = 0;
  return true;
}

void EchoLoopBreaker::answered(const sockaddr* from, std::string_view reply) {
  if (m_sources.size() >= k_sources) {
    m_sources.clear(); // a crude bound; a loop re-learns its source within one bounce
  }
  m_sources[source_key(from)].last_reply = std::hash<std::string_view>{}(reply);
}

} // namespace netlab::udp
