// Unit tests for core/udp/loop_guard: which senders an echo server must not answer.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <functional>
#include <string>
#include <vector>

#include "core/udp/loop_guard.hpp"

using namespace netlab;

namespace {

loop::Endpoint endpoint(const std::string& ip, std::uint16_t port) {
  loop::Endpoint e;
  if (ip.find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&e.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, ip.c_str(), &in->sin_addr) == 1);
    e.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    REQUIRE(::inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1);
    e.length = sizeof(sockaddr_in6);
  }
  return e;
}

bool refused(const std::string& from_ip, std::uint16_t from_port, const std::string& bound_ip, std::uint16_t bound_port,
             const std::vector<udp::IpBytes>& local = {}) {
  auto from = endpoint(from_ip, from_port);
  return udp::loop_refusal(from.sa(), endpoint(bound_ip, bound_port), local).has_value();
}

} // namespace

TEST_CASE("udp::loop_refusal: the server's own address and port is refused, its neighbours are not") {
  CHECK(refused("127.0.0.1", 7000, "127.0.0.1", 7000));
  CHECK_FALSE(refused("127.0.0.1", 7001, "127.0.0.1", 7000));
  CHECK_FALSE(refused("127.0.0.2", 7000, "127.0.0.1", 7000));
  CHECK(refused("::1", 7000, "::1", 7000));
  CHECK_FALSE(refused("::2", 7000, "::1", 7000));
  // A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d.
  CHECK(refused("::ffff:127.0.0.1", 7000, "::ffff:127.0.0.1", 7000));
  CHECK(refused("::ffff:10.1.2.3", 7000, "10.1.2.3", 7000));
}

TEST_CASE("udp::loop_refusal: a wildcard bind owns the port on loopback and every local address") {
  auto local_ip = endpoint("192.0.2.7", 1);
  std::vector<udp::IpBytes> local = {udp::ip_bytes(local_ip.sa())};
  CHECK(refused("127.0.0.1", 7000, "0.0.0.0", 7000, local));
  CHECK(refused("127.9.9.9", 7000, "0.0.0.0", 7000, local));
  CHECK(refused("192.0.2.7", 7000, "0.0.0.0", 7000, local));
  CHECK(refused("::ffff:192.0.2.7", 7000, "::", 7000, local));
  CHECK(refused("::1", 7000, "::", 7000, local));
  CHECK_FALSE(refused("192.0.2.8", 7000, "0.0.0.0", 7000, local));
  CHECK_FALSE(refused("127.0.0.1", 7001, "0.0.0.0", 7000, local));
}

TEST_CASE("udp::loop_refusal: port 0 and unspecified sources are refused whatever the bind") {
  CHECK(refused("127.0.0.1", 0, "127.0.0.1", 7000));
  CHECK(refused("192.0.2.1", 0, "0.0.0.0", 7000));
  CHECK(refused("0.0.0.0", 5000, "127.0.0.1", 7000));
  CHECK(refused("::", 5000, "::1", 7000));
  CHECK(refused("::ffff:0.0.0.0", 5000, "::", 7000));
  CHECK_FALSE(refused("127.0.0.1", 5000, "127.0.0.1", 7000));
}

TEST_CASE("udp::loop_refusal: the classic services that answer every datagram are refused") {
  for (std::uint16_t port : {7, 13, 17, 19, 37}) {
    CHECK(refused("192.0.2.1", port, "0.0.0.0", 7000));
    CHECK(refused("::1", port, "::1", 7000));
  }
  for (std::uint16_t port : {9, 18, 53, 123, 1019, 5000}) {
    CHECK_FALSE(refused("192.0.2.1", port, "0.0.0.0", 7000));
  }
}

TEST_CASE("udp::local_addresses: includes loopback") {
  auto local = udp::local_addresses();
  auto lo = endpoint("127.0.0.1", 0);
  CHECK(std::find(local.begin(), local.end(), udp::ip_bytes(lo.sa())) != local.end());
}

TEST_CASE("udp::EchoLoopBreaker: a peer that keeps returning our answers loses one datagram in k_bounces") {
  udp::EchoLoopBreaker breaker;
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(4000);
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* from = reinterpret_cast<const sockaddr*>(&peer);
  CHECK_FALSE(breaker.should_drop(from, "ping")); // nothing answered yet
  breaker.answered(from, "ping");
  std::uint32_t dropped_at = 0;
  for (std::uint32_t i = 1; i <= 2 * udp::EchoLoopBreaker::k_bounces; ++i) {
    if (breaker.should_drop(from, "ping")) {
      dropped_at = i;
      break;
    }
    breaker.answered(from, "ping");
  }
  CHECK(dropped_at == udp::EchoLoopBreaker::k_bounces);
}

TEST_CASE("udp::EchoLoopBreaker: a client with new payloads (bench's sequence numbers) is never dropped") {
  udp::EchoLoopBreaker breaker;
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(4001);
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* from = reinterpret_cast<const sockaddr*>(&peer);
  for (int i = 0; i < 5000; ++i) {
    auto payload = std::to_string(i);
    REQUIRE_FALSE(breaker.should_drop(from, payload));
    breaker.answered(from, payload);
  }
}

namespace {

// Plays loops between this breaker and another echo service: every payload in `live` comes back
// as soon as it is answered. Returns the bounces (datagrams received) until none is left, or
// `limit` if some still bounce then. `between` runs before each bounce (other traffic).
std::uint64_t bounces_until_all_end(udp::EchoLoopBreaker& breaker, const sockaddr* from, std::vector<std::string> live,
                                    std::uint64_t limit, const std::function<void()>& between = {}) {
  for (const auto& payload : live) {
    breaker.answered(from, payload);
  }
  std::uint64_t bounces = 0;
  while (!live.empty() && bounces < limit) {
    for (std::size_t i = 0; i < live.size() && bounces < limit;) {
      if (between) {
        between();
      }
      ++bounces;
      if (breaker.should_drop(from, live[i])) {
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      breaker.answered(from, live[i]);
      ++i;
    }
  }
  return live.empty() ? bounces : limit;
}

sockaddr_in loopback_peer(std::uint16_t port) {
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(port);
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return peer;
}

} // namespace

TEST_CASE("udp::EchoLoopBreaker: several datagrams bouncing at once all stop, one per k_bounces") {
  // Two forged datagrams with different payloads used to bounce forever: each came back while
  // the other was our last answer, so no run of identical answers ever reached k_bounces.
  auto count = GENERATE(2, 3, 600);
  udp::EchoLoopBreaker breaker;
  auto peer = loopback_peer(4002);
  std::vector<std::string> live;
  for (int i = 0; i < count; ++i) {
    live.push_back("loop-" + std::to_string(i));
  }
  auto limit = static_cast<std::uint64_t>(count + 1) * udp::EchoLoopBreaker::k_bounces;
  auto bounces = bounces_until_all_end(breaker, reinterpret_cast<const sockaddr*>(&peer), live, limit);
  CHECK(bounces < limit);
  CHECK(bounces >= static_cast<std::uint64_t>(count) * udp::EchoLoopBreaker::k_bounces);
}

TEST_CASE("udp::EchoLoopBreaker: other traffic between the bounces does not keep a loop alive") {
  udp::EchoLoopBreaker breaker;
  auto peer = loopback_peer(4003);
  auto other = loopback_peer(4004);
  int n = 0;
  // 100 fresh datagrams from another sender answered between two bounces: far fewer than a
  // generation, so the loop's answer is still remembered at each bounce.
  auto traffic = [&] {
    for (int i = 0; i < 100; ++i) {
      auto payload = "fresh-" + std::to_string(n++);
      REQUIRE_FALSE(breaker.should_drop(reinterpret_cast<const sockaddr*>(&other), payload));
      breaker.answered(reinterpret_cast<const sockaddr*>(&other), payload);
    }
  };
  auto limit = 3 * std::uint64_t{udp::EchoLoopBreaker::k_bounces};
  CHECK(bounces_until_all_end(breaker, reinterpret_cast<const sockaddr*>(&peer), {"loop-a", "loop-b"}, limit, traffic) <
        limit);
}

TEST_CASE("udp::EchoLoopBreaker: the same payload from another sender is not a repeat") {
  udp::EchoLoopBreaker breaker;
  auto a = loopback_peer(4005);
  auto b = loopback_peer(4006);
  breaker.answered(reinterpret_cast<const sockaddr*>(&a), "ping");
  for (std::uint32_t i = 0; i < 3 * udp::EchoLoopBreaker::k_bounces; ++i) {
    REQUIRE_FALSE(breaker.should_drop(reinterpret_cast<const sockaddr*>(&b), "ping"));
  }
}
