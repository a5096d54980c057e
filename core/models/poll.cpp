// The poll model: one thread, a pollfd array rebuilt each pass. No FD_SETSIZE limit, but the
// kernel still scans every descriptor on every call, so cost grows with idle connections.
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/idle_sweep.hpp"
#include "core/models/stop_signal.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::models {

Result<void> serve_poll(ModelContext& context) {
  std::vector<std::unique_ptr<EchoConnection>> connections;
  std::vector<pollfd> fds;
  Refuser refuser;
  IdleSweep idle(context.config.idle_timeout);
  while (!context.stop.requested()) {
    fds.clear();
    fds.push_back({context.stop.fd(), POLLIN, 0});
    fds.push_back({context.listen_fd, POLLIN, 0});
    for (auto& connection : connections) {
      short events = 0;
      events |= connection->wants_read() ? POLLIN : 0;
      events |= connection->wants_write() ? POLLOUT : 0;
      fds.push_back({connection->fd(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), idle.wait_ms(connections.size())) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_failure("poll", "", errno);
    }
    if (fds[0].revents != 0) {
      break;
    }
    // Walk backwards so removing by swap-with-last keeps the pollfd indices valid.
    for (std::size_t i = connections.size(); i-- > 0;) {
      short revents = fds[i + 2].revents;
      if (revents == 0) {
        continue;
      }
      auto& connection = *connections[i];
      Io io = Io::idle;
      // POLLHUP and POLLERR come whether asked or not; the next recv or send reports what happened.
      if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && connection.wants_read()) {
        io = connection.on_readable();
      }
      if (io != Io::closed &&
          ((revents & POLLOUT) != 0 || ((revents & (POLLHUP | POLLERR)) != 0 && !connection.wants_read()))) {
        io = connection.on_writable();
      }
      if (io == Io::closed) {
        connections[i] = std::move(connections.back());
        connections.pop_back();
      }
    }
    if (idle.due()) {
      std::erase_if(connections, [&](const auto& connection) { return idle.expired(*connection, context.stats); });
    }
    if ((fds[1].revents & POLLIN) != 0) {
      accept_batch(
          context, refuser, 64, [&] { return connections.size(); },
          [&](int fd, net::PeerSlot slot) {
            connections.push_back(std::make_unique<EchoConnection>(fd, context.config, context.stats, std::move(slot)));
          });
    }
  }
  return {};
}

} // namespace netlab::models
