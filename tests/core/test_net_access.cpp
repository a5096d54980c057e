// Unit tests for core/net/access: the allow/deny policy, the per-address counter and the gate.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <thread>
#include <vector>

#include "core/net/access.hpp"

using namespace netlab;

namespace {

// A socket address as accept() or recvfrom() would fill it.
struct Peer {
  sockaddr_storage storage{};
  explicit Peer(const char* text, std::uint16_t port = 40000) {
    if (std::strchr(text, ':') != nullptr) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      REQUIRE(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      REQUIRE(inet_pton(AF_INET, text, &in->sin_addr) == 1);
    }
  }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  net::IpAddress ip() const { return *net::ip_of(sa()); }
};

std::vector<net::Cidr> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Cidr> out;
  for (const auto* text : texts) {
    out.push_back(*net::parse_cidr(text));
  }
  return out;
}

std::optional<std::string> verdict(const net::AccessPolicy& policy, const char* peer) {
  return net::rule_refusal(policy, Peer(peer).ip());
}

} // namespace

TEST_CASE("net::rule_refusal: no rules let everyone in", "[access]") {
  net::AccessPolicy policy;
  CHECK_FALSE(verdict(policy, "203.0.113.9"));
  CHECK_FALSE(verdict(policy, "2001:db8::1"));
  CHECK_FALSE(net::rule_refusal(policy, std::nullopt));
}

TEST_CASE("net::rule_refusal: deny only refuses the matching peers", "[access]") {
  net::AccessPolicy policy;
  policy.deny_from = rules({"127.0.0.1/32", "2001:db8::/32"});
  CHECK(verdict(policy, "127.0.0.1") == "matches --deny-from 127.0.0.1/32");
  CHECK(verdict(policy, "::ffff:127.0.0.1") == "matches --deny-from 127.0.0.1/32");
  CHECK(verdict(policy, "2001:db8:ffff::1") == "matches --deny-from 2001:db8::/32");
  CHECK_FALSE(verdict(policy, "127.0.0.2"));
  CHECK_FALSE(verdict(policy, "::1"));
  // Nothing to match a deny rule against: a deny list alone does not refuse it.
  CHECK_FALSE(net::rule_refusal(policy, std::nullopt));
}

TEST_CASE("net::rule_refusal: allow rules admit only their peers", "[access]") {
  net::AccessPolicy policy;
  policy.allow_from = rules({"10.0.0.0/8", "::1"});
  CHECK_FALSE(verdict(policy, "10.255.0.1"));
  CHECK_FALSE(verdict(policy, "::ffff:10.0.0.1"));
  CHECK_FALSE(verdict(policy, "::1"));
  CHECK(verdict(policy, "127.0.0.1") == "matches no --allow-from");
  CHECK(verdict(policy, "11.0.0.1") == "matches no --allow-from");
  CHECK(verdict(policy, "::2") == "matches no --allow-from");
  CHECK(net::rule_refusal(policy, std::nullopt));
}

TEST_CASE("net::rule_refusal: deny wins over allow, in any order", "[access]") {
  net::AccessPolicy policy;
  policy.allow_from = rules({"127.0.0.0/8"});
  policy.deny_from = rules({"127.0.0.1"});
  CHECK(verdict(policy, "127.0.0.1") == "matches --deny-from 127.0.0.1/32");
  CHECK_FALSE(verdict(policy, "127.0.0.2"));
  CHECK(verdict(policy, "192.0.2.1") == "matches no --allow-from");
  // The same address allowed and denied outright: denied.
  policy.allow_from = rules({"127.0.0.1"});
  CHECK(verdict(policy, "127.0.0.1"));
}

TEST_CASE("net::PeerCounter: counts per address up to the limit", "[access]") {
  net::PeerCounter counter(2);
  auto a = Peer("192.0.2.1").ip();
  auto b = Peer("192.0.2.2").ip();
  auto first = counter.acquire(a);
  auto second = counter.acquire(a);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(counter.count(a) == 2);
  CHECK_FALSE(counter.acquire(a));
  CHECK(counter.count(a) == 2);
  // Another address has its own count.
  auto other = counter.acquire(b);
  CHECK(other);
  CHECK(counter.addresses() == 2);
  // Closing one makes room for one.
  first.reset();
  CHECK(counter.count(a) == 1);
  auto third = counter.acquire(a);
  CHECK(third);
  CHECK_FALSE(counter.acquire(a));
  second.reset();
  third.reset();
  other.reset();
  CHECK(counter.count(a) == 0);
  CHECK(counter.addresses() == 0);
}

TEST_CASE("net::PeerCounter: a mapped IPv4 peer and its IPv4 form share one count", "[access]") {
  net::PeerCounter counter(1);
  auto slot = counter.acquire(Peer("127.0.0.1").ip());
  REQUIRE(slot);
  CHECK_FALSE(counter.acquire(Peer("::ffff:127.0.0.1").ip()));
  CHECK(counter.acquire(Peer("::1").ip()));
}

TEST_CASE("net::PeerSlot: moving hands the count over exactly once", "[access]") {
  net::PeerCounter counter(5);
  auto ip = Peer("198.51.100.7").ip();
  {
    auto slot = counter.acquire(ip);
    REQUIRE(slot);
    net::PeerSlot moved = std::move(*slot);
    CHECK(counter.count(ip) == 1);
    net::PeerSlot assigned;
    assigned = std::move(moved);
    CHECK(counter.count(ip) == 1);
    // Assigning over a held slot gives the old count back.
    auto another = counter.acquire(ip);
    CHECK(counter.count(ip) == 2);
    assigned = std::move(*another);
    CHECK(counter.count(ip) == 1);
    assigned.release();
    assigned.release();
    CHECK(counter.count(ip) == 0);
  }
  CHECK(counter.count(ip) == 0);
  CHECK(counter.addresses() == 0);
}

TEST_CASE("net::PeerCounter: threads acquiring and releasing never pass the limit", "[access]") {
  constexpr std::size_t k_limit = 3;
  net::PeerCounter counter(k_limit);
  auto ip = Peer("127.0.0.1").ip();
  std::atomic<std::size_t> held{0};
  std::atomic<std::size_t> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (auto slot = counter.acquire(ip)) {
          auto now = held.fetch_add(1) + 1;
          auto seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          held.fetch_sub(1);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(most.load() <= k_limit);
  CHECK(counter.count(ip) == 0);
}

TEST_CASE("net::AccessGate: inactive without options, so nothing is looked up", "[access]") {
  net::AccessGate gate{net::AccessPolicy{}};
  CHECK_FALSE(gate.active());
  CHECK(gate.admit(nullptr).ok());
  CHECK(gate.admit(Peer("203.0.113.1").sa()).ok());
  CHECK_FALSE(gate.refusal(Peer("203.0.113.1").sa()));
}

TEST_CASE("net::AccessGate: rules first, then the per-address limit", "[access]") {
  net::AccessPolicy policy;
  policy.allow_from = rules({"127.0.0.0/8", "::1"});
  policy.deny_from = rules({"127.0.0.2"});
  policy.max_conns_per_ip = 2;
  net::AccessGate gate(policy);
  REQUIRE(gate.active());

  auto denied = gate.admit(Peer("127.0.0.2").sa());
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error() == "matches --deny-from 127.0.0.2/32");
  CHECK(gate.admit(Peer("192.0.2.1").sa()).error() == "matches no --allow-from");
  // A refused peer holds no count.
  CHECK(gate.counter().addresses() == 0);

  auto one = gate.admit(Peer("127.0.0.1", 1).sa());
  auto two = gate.admit(Peer("::ffff:127.0.0.1", 2).sa());
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  auto three = gate.admit(Peer("127.0.0.1", 3).sa());
  REQUIRE_FALSE(three.ok());
  CHECK(three.error() == "--max-conns-per-ip 2 reached for 127.0.0.1");
  CHECK(gate.admit(Peer("::1").sa()).ok());
  { net::PeerSlot leaving = std::move(*one); }
  CHECK(gate.admit(Peer("127.0.0.1", 4).sa()).ok());
}

TEST_CASE("net::AccessGate: a peer without an IP address is refused once any option is given", "[access]") {
  net::AccessPolicy policy;
  policy.max_conns_per_ip = 1;
  net::AccessGate gate(policy);
  sockaddr_un unix_peer{};
  unix_peer.sun_family = AF_UNIX;
  auto refused = gate.admit(reinterpret_cast<const sockaddr*>(&unix_peer));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == "peer address unknown");
  sockaddr_storage unknown{};
  CHECK_FALSE(gate.admit(reinterpret_cast<const sockaddr*>(&unknown)).ok());
}

TEST_CASE("net::AccessGate::refusal: datagrams see the rules but no count", "[access]") {
  net::AccessPolicy policy;
  policy.deny_from = rules({"::1"});
  policy.max_conns_per_ip = 1;
  net::AccessGate gate(policy);
  CHECK(gate.refusal(Peer("::1").sa()) == "matches --deny-from ::1/128");
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(gate.refusal(Peer("127.0.0.1").sa()));
  }
  CHECK(gate.counter().addresses() == 0);
}
