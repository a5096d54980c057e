// The blocking model: one client at a time. While it is served, others wait in the listen
// backlog; this is the classic first server and the reason the other models exist.
#include <poll.h>

#include <cerrno>

#include "core/models/plumbing.hpp"

namespace netlab::models {

Result<void> serve_blocking(ModelContext& context) {
  pollfd fds[2] = {{context.listen_fd, POLLIN, 0}, {context.stop.fd(), POLLIN, 0}};
  while (!context.stop.requested()) {
    if (::poll(fds, 2, -1) < 0 || fds[1].revents != 0) {
      continue; // EINTR, or stopping: the loop condition decides
    }
    int fd = accept_client(context.listen_fd);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
        note_accept_error(errno);
      }
      continue;
    }
    serve_sequentially(fd, context);
  }
  return {};
}

} // namespace netlab::models
