// Unit tests for core/net/server's ConnectionTracker: --max-conns refuses the extra connection, the
// access gate's refused peers never become connections, and a closed connection gives its
// per-address count back.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "core/net/server.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;

namespace {

struct Outcome {
  int accepted = 0;
  int refused = 0;
  std::size_t counted_while_open = 0;
};

// Connects `clients` loopback clients to a tracker of at most `max_conns` connections, guarded by
// `gate` if given; once the last one is accepted or refused, notes the gate's count for the
// loopback address and closes everything.
Outcome run_clients(int clients, net::AccessGate* gate, std::size_t max_conns = 100) {
  loop::Loop loop;
  std::atomic<std::size_t> count{0};
  net::ConnectionTracker tracker(loop, count,
                                 net::ServerLimits{.max_conns = max_conns, .idle_timeout = netlab::Seconds(0)}, gate);
  auto listener = net::Listener::open(loop, *net::parse_address("127.0.0.1:0"));
  REQUIRE(listener.ok());
  auto& server = **listener;
  Outcome outcome;
  std::vector<std::shared_ptr<loop::Tcp>> peers;
  std::optional<net::IpAddress> loopback;
  REQUIRE(server.start([&] {
    if (tracker.add(server.accept(), "test")) {
      ++outcome.accepted;
    } else {
      ++outcome.refused;
    }
    if (outcome.accepted + outcome.refused < clients) {
      return;
    }
    if (gate != nullptr) {
      outcome.counted_while_open = gate->counter().count(*loopback);
    }
    for (auto& peer : peers) {
      peer->close();
    }
    tracker.close_all();
    server.close();
  }));
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  REQUIRE(endpoint.ok());
  loopback = net::ip_of(endpoint->front().sa());
  for (int i = 0; i < clients; ++i) {
    auto client = loop::Tcp::create(loop);
    client->connect(endpoint->front(), [](int) {});
    peers.push_back(client);
  }
  loop.run();
  netlab::testing::require_clean_close(loop);
  CHECK(count == 0);
  return outcome;
}

} // namespace

TEST_CASE("net::ConnectionTracker: --max-conns-per-ip refuses the extra connection and counts back down", "[access]") {
  net::AccessPolicy policy;
  policy.max_conns_per_ip = 2;
  net::AccessGate gate(policy);
  auto outcome = run_clients(3, &gate);
  CHECK(outcome.accepted == 2);
  CHECK(outcome.refused == 1);
  CHECK(outcome.counted_while_open == 2);
  CHECK(gate.counter().addresses() == 0);
}

TEST_CASE("net::ConnectionTracker: a denied peer is refused before it is counted", "[access]") {
  net::AccessPolicy policy;
  policy.deny_from.push_back(*net::parse_cidr("127.0.0.0/8"));
  policy.max_conns_per_ip = 5;
  net::AccessGate gate(policy);
  auto outcome = run_clients(2, &gate);
  CHECK(outcome.accepted == 0);
  CHECK(outcome.refused == 2);
  CHECK(outcome.counted_while_open == 0);
}

TEST_CASE("net::ConnectionTracker: an allowed peer gets in", "[access]") {
  net::AccessPolicy policy;
  policy.allow_from.push_back(*net::parse_cidr("127.0.0.1"));
  net::AccessGate gate(policy);
  auto outcome = run_clients(2, &gate);
  CHECK(outcome.accepted == 2);
  CHECK(outcome.refused == 0);
}

TEST_CASE("net::ConnectionTracker: --max-conns refuses the connection past the cap", "[access]") {
  auto outcome = run_clients(3, nullptr, 2);
  CHECK(outcome.accepted == 2);
  CHECK(outcome.refused == 1);
}
