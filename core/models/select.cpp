// The select model: one thread, fd_sets rebuilt on every pass. select(2) cannot watch a
// descriptor at or past FD_SETSIZE, so such connections are refused with a message saying so
// rather than corrupting memory.
#include <sys/select.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/idle_sweep.hpp"
#include "core/models/stop_signal.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::models {

Result<void> serve_select(ModelContext& context) {
  if (context.listen_fd >= FD_SETSIZE || context.stop.fd() >= FD_SETSIZE) {
    return fail(fmt::format("select: descriptors already past FD_SETSIZE ({})", FD_SETSIZE));
  }
  std::map<int, std::unique_ptr<EchoConnection>> connections;
  Refuser refuser;
  IdleSweep idle(context.config.idle_timeout);
  while (!context.stop.requested()) {
    fd_set readable;
    fd_set writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_SET(context.listen_fd, &readable);
    FD_SET(context.stop.fd(), &readable);
    int highest = std::max(context.listen_fd, context.stop.fd());
    for (auto& [fd, connection] : connections) {
      if (connection->wants_read()) {
        FD_SET(fd, &readable);
      }
      if (connection->wants_write()) {
        FD_SET(fd, &writable);
      }
      highest = std::max(highest, fd);
    }
    timeval timeout{};
    timeval* until_sweep = nullptr;
    if (int ms = idle.wait_ms(connections.size()); ms >= 0) {
      timeout = {ms / 1000, (ms % 1000) * 1000};
      until_sweep = &timeout;
    }
    int ready = ::select(highest + 1, &readable, &writable, nullptr, until_sweep);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_failure("select", "", errno);
    }
    if (FD_ISSET(context.stop.fd(), &readable)) {
      break;
    }
    for (auto it = connections.begin(); it != connections.end();) {
      auto& connection = *it->second;
      Io io = Io::idle;
      if (FD_ISSET(it->first, &readable)) {
        io = connection.on_readable();
      }
      if (io != Io::closed && FD_ISSET(it->first, &writable)) {
        io = connection.on_writable();
      }
      it = io == Io::closed ? connections.erase(it) : std::next(it);
    }
    if (idle.due()) {
      std::erase_if(connections, [&](const auto& entry) { return idle.expired(*entry.second, context.stats); });
    }
    if (FD_ISSET(context.listen_fd, &readable)) {
      accept_batch(
          context, refuser, 64, [&] { return connections.size(); },
          [&](int fd, net::PeerSlot slot) {
            if (fd >= FD_SETSIZE) {
              refuser.refuse(fd, context.stats,
                             fmt::format("descriptor {} is past FD_SETSIZE ({}), the most select can watch; "
                                         "use --model poll or epoll for more clients",
                                         fd, FD_SETSIZE));
              return;
            }
            connections.emplace(fd,
                                std::make_unique<EchoConnection>(fd, context.config, context.stats, std::move(slot)));
          });
    }
  }
  return {};
}

} // namespace netlab::models
