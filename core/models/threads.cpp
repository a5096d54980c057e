// The threads model: a thread per client, each written like the blocking server. Simple to
// write; costs a stack and a context switch per connection.
#include <poll.h>

#include <cerrno>
#include <list>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/stop_signal.hpp"

namespace netlab::models {
namespace {

struct ClientThread {
  std::thread thread;
  std::atomic<bool> done{false};
};

// Joins the threads whose client has left, so a long-running server does not pile them up.
void reap(std::list<std::unique_ptr<ClientThread>>& threads) {
  for (auto it = threads.begin(); it != threads.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      it = threads.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace

Result<void> serve_threads(ModelContext& context) {
  std::list<std::unique_ptr<ClientThread>> threads;
  std::atomic<std::size_t> active{0};
  Refuser refuser;
  pollfd fds[2] = {{context.listen_fd, POLLIN, 0}, {context.stop.fd(), POLLIN, 0}};
  while (!context.stop.requested()) {
    // The timeout only bounds how long finished threads wait to be joined.
    if (::poll(fds, 2, 1000) <= 0 || fds[1].revents != 0) {
      reap(threads);
      continue;
    }
    reap(threads);
    accept_batch(
        context, refuser, 1, [&] { return active.load(); },
        [&](int fd, net::PeerSlot slot) {
          auto client = std::make_unique<ClientThread>();
          auto* raw = client.get();
          active.fetch_add(1);
          try {
            raw->thread = std::thread([fd, raw, &context, &active, slot = std::move(slot)]() mutable {
              serve_sequentially(fd, context, std::move(slot));
              active.fetch_sub(1);
              raw->done.store(true);
            });
          } catch (const std::system_error& e) {
            active.fetch_sub(1);
            refuser.refuse(fd, context.stats, fmt::format("cannot start a thread: {}", e.what()));
            return;
          }
          threads.push_back(std::move(client));
        });
  }
  // Every client thread watches the stop pipe too, so these joins do not wait on peers.
  for (auto& client : threads) {
    client->thread.join();
  }
  return {};
}

} // namespace netlab::models
