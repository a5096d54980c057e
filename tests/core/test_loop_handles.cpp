// Unit tests for core/loop: every wrapper runs on a real loop, callbacks are counted, and each
// test ends by closing the loop and requiring that nothing was left open.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "core/loop/process.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/loop/udp.hpp"
#include "core/net/listener.hpp"

using namespace netlab;

namespace {

// Closes everything still open and asserts the loop closed cleanly (libuv's
// MAKE_VALGRIND_HAPPY): a handle leaked by a wrapper makes uv_loop_close fail.
void require_clean_close(loop::Loop& loop) { REQUIRE(loop.close_all() == 0); }

net::Address loopback_any_port() { return *net::parse_address("127.0.0.1:0"); }

} // namespace

TEST_CASE("loop::Timer: fires, repeats, stops and closes once", "[loop]") {
  loop::Loop loop;
  int fired = 0;
  int closed = 0;
  auto timer = loop::Timer::create(loop);
  timer->on_close([&] { ++closed; });
  timer->start(1, 1, [&] {
    if (++fired == 3) {
      timer->close();
      timer->close(); // idempotent
    }
  });
  loop.run();
  CHECK(fired == 3);
  CHECK(closed == 1);
  require_clean_close(loop);
}

TEST_CASE("loop::Loop: close_all closes handles the caller forgot", "[loop]") {
  loop::Loop loop;
  int closed = 0;
  std::weak_ptr<loop::Timer> weak;
  {
    auto timer = loop::Timer::create(loop);
    timer->on_close([&] { ++closed; });
    timer->start(100000, 0, [] {});
    weak = timer;
  }
  // The handle keeps itself alive while open, though nobody holds it.
  CHECK_FALSE(weak.expired());
  require_clean_close(loop);
  CHECK(closed == 1);
  CHECK(weak.expired());
}

TEST_CASE("loop::Signal: delivers a signal on the loop", "[loop]") {
  loop::Loop loop;
  int got = 0;
  auto watcher = loop::Signal::create(loop);
  watcher->start(SIGUSR1, [&](int signum) {
    got = signum;
    watcher->close();
  });
  ::kill(::getpid(), SIGUSR1);
  loop.run();
  CHECK(got == SIGUSR1);
  require_clean_close(loop);
}

TEST_CASE("loop::Async: wakes the loop from another thread", "[loop]") {
  loop::Loop loop;
  int woken = 0;
  std::shared_ptr<loop::Async> async;
  async = loop::Async::create(loop, [&] {
    ++woken;
    async->close();
  });
  std::thread other([&] { async->send(); });
  loop.run();
  other.join();
  CHECK(woken == 1);
  require_clean_close(loop);
}

TEST_CASE("loop::Tcp: connect, echo 1 MiB through a listener, half-close", "[loop]") {
  loop::Loop loop;
  auto listener = net::Listener::open(loop, loopback_any_port());
  REQUIRE(listener.ok());
  auto& server = **listener;
  std::shared_ptr<loop::Stream> accepted;
  int server_ends = 0;
  REQUIRE(server.start([&] {
    accepted = server.accept();
    REQUIRE(accepted);
    accepted->on_data([&](std::string_view data) { accepted->write(data); });
    accepted->on_end([&] {
      ++server_ends;
      accepted->shutdown([&](int) { accepted->close(); });
    });
    accepted->read_start();
  }));

  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<char>((i * 131) >> 3);
  }
  std::string received;
  int client_end = 0;
  auto client = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(server.port())));
  REQUIRE(endpoint.ok());
  REQUIRE(client->connect(endpoint->front(), [&](int status) {
    REQUIRE(status == 0);
    client->on_data([&](std::string_view data) { received.append(data); });
    client->on_end([&] {
      ++client_end;
      client->close();
      server.close();
    });
    client->read_start();
    REQUIRE(client->write(std::string(payload)) == 0);
    REQUIRE(client->shutdown() == 0);
  }) == 0);
  loop.run();
  CHECK(server_ends == 1);
  CHECK(client_end == 1);
  CHECK(received == payload);
  require_clean_close(loop);
}

TEST_CASE("loop::Tcp: connection refused reaches the callback", "[loop]") {
  loop::Loop loop;
  // Bind a port and close it again to get one nobody listens on.
  int port = 0;
  {
    auto probe = net::Listener::open(loop, loopback_any_port());
    REQUIRE(probe.ok());
    REQUIRE((*probe)->start([] {}));
    port = (*probe)->port();
  }
  int status_seen = 0;
  auto client = loop::Tcp::create(loop);
  auto endpoint = net::resolve(*net::parse_address("127.0.0.1:" + std::to_string(port)));
  REQUIRE(client->connect(endpoint->front(), [&](int status) {
    status_seen = status;
    client->close();
  }) == 0);
  loop.run();
  CHECK(status_seen == UV_ECONNREFUSED);
  require_clean_close(loop);
}

TEST_CASE("loop::Process: stdout through a pipe, exit status, process group", "[loop][process]") {
  loop::Loop loop;
  auto out = loop::Pipe::create(loop);
  loop::SpawnOptions options;
  options.argv = {"sh", "-c", "printf hello; exit 3"};
  options.stdout_ = loop::Stdio::piped(out);
  loop::ExitStatus status;
  int exits = 0;
  std::string output;
  auto process = loop::Process::spawn(loop, options, [&](loop::ExitStatus s) {
    status = s;
    ++exits;
  });
  REQUIRE(process.ok());
  out->on_data([&](std::string_view data) { output.append(data); });
  out->on_end([&] { out->close(); });
  out->read_start();
  loop.run();
  CHECK(exits == 1);
  CHECK(status.exit_code == 3);
  CHECK(status.term_signal == 0);
  CHECK(output == "hello");
  (*process)->close();
  require_clean_close(loop);
}

TEST_CASE("loop::Process: kill_group reaches grandchildren", "[loop][process]") {
  loop::Loop loop;
  auto out = loop::Pipe::create(loop);
  loop::SpawnOptions options;
  // The grandchild holds stdout open; only killing the whole group ends the read.
  options.argv = {"sh", "-c", "sleep 30 & echo started; wait"};
  options.stdout_ = loop::Stdio::piped(out);
  loop::ExitStatus status;
  std::shared_ptr<loop::Process> child;
  auto spawned = loop::Process::spawn(loop, options, [&](loop::ExitStatus s) { status = s; });
  REQUIRE(spawned.ok());
  child = *spawned;
  bool ended = false;
  out->on_data([&](std::string_view) { child->kill_group(SIGKILL); });
  out->on_end([&] {
    ended = true;
    out->close();
  });
  out->read_start();
  loop.run();
  CHECK(ended);
  CHECK(status.term_signal == SIGKILL);
  child->close();
  require_clean_close(loop);
}

TEST_CASE("loop::Process: a missing program fails cleanly", "[loop][process]") {
  loop::Loop loop;
  loop::SpawnOptions options;
  options.argv = {"/nonexistent/netlab-no-such-program"};
  auto process = loop::Process::spawn(loop, options, [](loop::ExitStatus) {});
  REQUIRE_FALSE(process.ok());
  CHECK_THAT(process.error(), Catch::Contains("no such file"));
  require_clean_close(loop);
}

TEST_CASE("loop::process signal names", "[loop][process]") {
  CHECK(loop::signal_name(SIGTERM) == "TERM");
  CHECK(loop::signal_number("INT") == SIGINT);
  CHECK(loop::signal_number("SIGKILL") == SIGKILL);
  CHECK(loop::signal_number("9") == 9);
  CHECK(loop::signal_number("NOPE") == 0);
}

TEST_CASE("loop::Udp: datagrams keep their boundaries", "[loop][udp]") {
  loop::Loop loop;
  auto server = loop::Udp::create(loop);
  auto any = net::resolve(*net::parse_address("127.0.0.1:0"), SOCK_DGRAM);
  REQUIRE(server->bind(any->front()) == 0);
  auto server_endpoint = server->local_endpoint();
  std::vector<std::string> seen;
  REQUIRE(server->recv_start([&](std::string_view data, const sockaddr* from, bool truncated) {
    CHECK_FALSE(truncated);
    seen.emplace_back(data);
    server->send(data, from);
  }) == 0);
  auto client = loop::Udp::create(loop);
  REQUIRE(client->bind(any->front()) == 0);
  std::vector<std::string> replies;
  REQUIRE(client->recv_start([&](std::string_view data, const sockaddr*, bool) {
    replies.emplace_back(data);
    if (replies.size() == 3) {
      client->close();
      server->close();
    }
  }) == 0);
  std::string big(loop::Udp::k_max_datagram, 'z');
  client->send("one", server_endpoint.sa());
  client->send("two", server_endpoint.sa());
  client->send(big, server_endpoint.sa());
  loop.run();
  REQUIRE(replies.size() == 3);
  CHECK(replies[0] == "one");
  CHECK(replies[1] == "two");
  CHECK(replies[2] == big);
  require_clean_close(loop);
}
