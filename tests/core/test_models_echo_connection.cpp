// Unit tests for core/models/echo_connection: the readiness models' connection holds at most its
// bound for a peer however that peer reads. Driven by hand over a socketpair: no threads, no sleeps.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <string>

#include "core/models/echo_connection.hpp"
#include "core/util/fd.hpp"

using namespace netlab;

TEST_CASE("models::EchoConnection: a peer that reads slower than it sends costs at most the bound", "[models]") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  Fd peer(fds[1]);
  // A small send buffer: each write takes part of what is pending, so it never empties (a WAN
  // peer, or a host with small tcp_wmem, does the same to a TCP connection).
  int small = 16 * 1024;
  REQUIRE(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
  models::ModelConfig config;
  config.max_buffered = 256 * 1024;
  models::Stats stats;
  models::EchoConnection connection(fds[0], config, stats);

  const std::string chunk(64 * 1024, 'x');
  char buffer[16 * 1024];
  std::size_t most = 0;
  std::size_t echoed = 0;
  for (int round = 0; round < 3000; ++round) {
    // The peer sends what its socket takes, and reads back a quarter of that.
    (void)::send(peer.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (connection.wants_read()) {
      REQUIRE(connection.on_readable() != models::Io::closed);
    }
    if (connection.wants_write()) {
      REQUIRE(connection.on_writable() != models::Io::closed);
    }
    ssize_t n = ::recv(peer.get(), buffer, sizeof(buffer), 0);
    echoed += n > 0 ? static_cast<std::size_t>(n) : 0;
    most = std::max(most, connection.held());
  }
  // Many times the bound went through while the connection never emptied its buffer.
  CHECK(echoed > 40 * config.max_buffered);
  CHECK(most <= config.max_buffered + 64 * 1024);
}
