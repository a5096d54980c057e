// The blocking model: one client at a time. While it is served, others wait in the listen
// backlog; this is the classic first server and the reason the other models exist.
#include <poll.h>

#include <cerrno>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/stop_signal.hpp"

namespace netlab::models {

Result<void> serve_blocking(ModelContext& context) {
  Refuser refuser;
  pollfd fds[2] = {{context.listen_fd, POLLIN, 0}, {context.stop.fd(), POLLIN, 0}};
  while (!context.stop.requested()) {
    if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) {
      continue; // EINTR, or stopping: the loop condition decides
    }
    // Nothing else is open while a client is served, so --max-conns never refuses here.
    accept_batch(
        context, refuser, 1, [] { return std::size_t{0}; },
        [&](int fd, net::PeerSlot slot) { serve_sequentially(fd, context, std::move(slot)); });
  }
  return {};
}

} // namespace netlab::models
