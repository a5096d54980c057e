// Blocking-style TLS for the simple clients.
#include "core/tls/blocking.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::tls {

Result<void> flush(int fd, Session& session, const net::Deadline& deadline) {
  if (session.output_size() == 0) {
    return {};
  }
  return net::send_all(fd, session.take_output(), deadline);
}

Result<bool> receive(int fd, Session& session, std::string& plain, const net::Deadline& deadline) {
  char chunk[16 * 1024];
  ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      return true;
    }
    return sys_failure("receive", "", errno);
  }
  if (n == 0) {
    NETLAB_TRY_VOID(session.feed_eof());
    return false;
  }
  auto fed = session.feed(std::string_view(chunk, static_cast<std::size_t>(n)), plain);
  // Send what the session made even on failure: it may be the alert that tells the peer why.
  auto sent = flush(fd, session, deadline);
  if (!fed) {
    return fed.failure();
  }
  if (!sent) {
    return sent.failure();
  }
  return !session.peer_closed();
}

Result<void> handshake(int fd, Session& session, std::string& plain, const net::Deadline& deadline) {
  NETLAB_TRY_VOID(session.start());
  NETLAB_TRY_VOID(flush(fd, session, deadline));
  while (!session.handshake_done()) {
    if (!net::wait_for(fd, POLLIN, deadline)) {
      return fail("TLS handshake: no answer in time", ETIMEDOUT);
    }
    NETLAB_TRY(bool open, receive(fd, session, plain, deadline));
    if (!open && !session.handshake_done()) {
      return fail("TLS handshake: the peer closed the connection");
    }
  }
  return {};
}

Result<void> send(int fd, Session& session, std::string_view plain, const net::Deadline& deadline) {
  NETLAB_TRY_VOID(session.write(plain));
  return flush(fd, session, deadline);
}

} // namespace netlab::tls
