// The epoll model: one thread, level-triggered epoll. The kernel keeps the interest list, so a
// pass costs only the ready descriptors, and interest changes only when a connection's wants do.
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/idle_sweep.hpp"
#include "core/models/stop_signal.hpp"
#include "core/util/fd.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::models {
namespace {

std::uint32_t interest(const EchoConnection& connection) {
  std::uint32_t events = 0;
  events |= connection.wants_read() ? std::uint32_t{EPOLLIN} : 0U;
  events |= connection.wants_write() ? std::uint32_t{EPOLLOUT} : 0U;
  return events;
}

struct Watched {
  std::unique_ptr<EchoConnection> connection;
  std::uint32_t events;
};

} // namespace

Result<void> serve_epoll(ModelContext& context) {
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) {
    return sys_failure("epoll_create1", "", errno);
  }
  auto add = [&](int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    return ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event);
  };
  if (add(context.stop.fd(), EPOLLIN) != 0 || add(context.listen_fd, EPOLLIN) != 0) {
    return sys_failure("epoll_ctl", "", errno);
  }
  std::unordered_map<int, Watched> connections;
  Refuser refuser;
  IdleSweep idle(context.config.idle_timeout);
  constexpr int k_batch = 256;
  epoll_event events[k_batch];
  while (!context.stop.requested()) {
    int ready = ::epoll_wait(epoll.get(), events, k_batch, idle.wait_ms(connections.size()));
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_failure("epoll_wait", "", errno);
    }
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      std::uint32_t got = events[i].events;
      if (fd == context.stop.fd()) {
        return {};
      }
      if (fd == context.listen_fd) {
        accept_batch(
            context, refuser, 64, [&] { return connections.size(); },
            [&](int client, net::PeerSlot slot) {
              auto connection =
                  std::make_unique<EchoConnection>(client, context.config, context.stats, std::move(slot));
              if (add(client, EPOLLIN) == 0) { // else the connection's destructor closes it
                connections.emplace(client, Watched{std::move(connection), EPOLLIN});
              }
            });
        continue;
      }
      auto it = connections.find(fd);
      if (it == connections.end()) {
        continue;
      }
      auto& connection = *it->second.connection;
      Io io = Io::idle;
      if ((got & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && connection.wants_read()) {
        io = connection.on_readable();
      }
      if (io != Io::closed &&
          ((got & EPOLLOUT) != 0 || ((got & (EPOLLHUP | EPOLLERR)) != 0 && !connection.wants_read()))) {
        io = connection.on_writable();
      }
      if (io == Io::closed) {
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
        connections.erase(it);
        continue;
      }
      if (auto wanted = interest(connection); wanted != it->second.events) {
        epoll_event event{};
        event.events = wanted;
        event.data.fd = fd;
        ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &event);
        it->second.events = wanted;
      }
    }
    if (idle.due()) {
      std::erase_if(connections, [&](const auto& entry) {
        if (!idle.expired(*entry.second.connection, context.stats)) {
          return false;
        }
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, entry.first, nullptr);
        return true;
      });
    }
  }
  return {};
}

} // namespace netlab::models
