// Unit tests for core/models/models: each classic model in all_models() serves in a thread and stops on request.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/models/accept.hpp"
#include "core/models/stop_signal.hpp"
#include "core/net/socket.hpp"

using namespace netlab;

namespace {

// A blocking client socket connected to `port` on 127.0.0.1, with a receive timeout.
int connect_to(std::uint16_t port) {
  auto fd = net::connect_stream(*net::parse_address("127.0.0.1:" + std::to_string(port)),
                                net::deadline_after(netlab::Seconds(5)));
  REQUIRE(fd.ok());
  // A timeout, so a broken model fails the test instead of hanging it.
  timeval tv{5, 0};
  setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return *fd;
}

std::string read_until_eof(int fd) {
  std::string out;
  char buffer[65536];
  while (true) {
    if (!net::wait_for(fd, POLLIN, net::deadline_after(netlab::Seconds(5)))) {
      FAIL("no data or EOF within 5 s");
    }
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      return out;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

} // namespace

TEST_CASE("models: every classic model echoes, answers a half-close and stops on request", "[models]") {
  for (const auto& model : models::all_models()) {
    if (model.serve == nullptr) {
      continue;
    }
    SECTION(std::string(model.name)) {
      models::ModelConfig config;
      config.address = *net::parse_address("127.0.0.1:0");
      config.upper = true;
      auto listener = models::listen_on(config.address);
      REQUIRE(listener.ok());
      models::StopSignal stop(false);
      models::Stats stats;
      models::ModelContext context{config, listener->fd.get(), stop, stats};
      Result<void> served;
      std::thread server([&] { served = model.serve(context); });

      int fd = connect_to(listener->bound.port());
      std::string payload;
      for (int i = 0; i < 20000; ++i) {
        payload += static_cast<char>('a' + i % 26);
      }
      REQUIRE(net::send_all(fd, payload, net::deadline_after(netlab::Seconds(5))).ok());
      ::shutdown(fd, SHUT_WR);
      auto echoed = read_until_eof(fd);
      ::close(fd);
      std::string upper = payload;
      for (auto& c : upper) {
        c = static_cast<char>(c - 'a' + 'A');
      }
      CHECK(echoed == upper);

      stop.request_stop();
      server.join();
      CHECK(served.ok());
      CHECK(stats.connections() == 1);
      CHECK(stats.bytes_in() == payload.size());
      CHECK(stats.bytes_out() == payload.size());
    }
  }
}
