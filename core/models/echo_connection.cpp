#include "core/models/echo_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/echo/echo_service.hpp"
#include "core/models/idle_sweep.hpp"
#include "core/models/stop_signal.hpp"

namespace netlab::models {
namespace {

using Clock = std::chrono::steady_clock;

} // namespace

EchoConnection::EchoConnection(int fd, const ModelConfig& config, Stats& stats, net::PeerSlot slot)
    : m_fd(fd), m_config(config), m_stats(stats), m_last_active(Clock::now()), m_slot(std::move(slot)) {
  stats.connection();
}

// Closed before the slot gives its count back.
EchoConnection::~EchoConnection() { m_fd.reset(); }

Io EchoConnection::on_readable() {
  char buffer[64 * 1024];
  ssize_t n = ::recv(m_fd.get(), buffer, sizeof(buffer), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return Io::idle;
    }
    // ECONNRESET and friends: the peer is gone, and so is whatever it had not read.
    return Io::closed;
  }
  m_last_active = Clock::now();
  if (n == 0) {
    // Half-close: the peer sends no more but may still read its echo.
    m_input_ended = true;
    return finished() ? Io::closed : Io::progress;
  }
  auto size = static_cast<std::size_t>(n);
  m_stats.read(size);
  if (m_config.upper) {
    echo::upper_ascii(buffer, size);
  }
  if (pending() == 0) {
    // The common case: the kernel takes it all and nothing is copied.
    ssize_t sent = ::send(m_fd.get(), buffer, size, MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Io::closed;
    }
    std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
    m_stats.wrote(done);
    if (m_out_offset > 0) {
      m_out.clear();
      m_out_offset = 0;
    }
    m_out.append(buffer + done, size - done);
    return Io::progress;
  }
  // What was sent goes first: a peer that reads, but slower than it sends, never lets the
  // buffer empty, and appending behind the sent bytes would keep all it ever got echoed.
  m_out.erase(0, m_out_offset);
  m_out_offset = 0;
  m_out.append(buffer, size);
  return Io::progress;
}

Io EchoConnection::on_writable() {
  bool progressed = false;
  if (!flush(progressed)) {
    return Io::closed;
  }
  if (finished()) {
    return Io::closed;
  }
  return progressed ? Io::progress : Io::idle;
}

bool EchoConnection::flush(bool& progressed) {
  while (pending() > 0) {
    ssize_t sent = ::send(m_fd.get(), m_out.data() + m_out_offset, pending(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    progressed = true;
    m_last_active = Clock::now();
    m_stats.wrote(static_cast<std::size_t>(sent));
    m_out_offset += static_cast<std::size_t>(sent);
  }
  m_out.clear();
  m_out_offset = 0;
  return true;
}

bool EchoConnection::finished() {
  if (!m_input_ended || pending() > 0) {
    return false;
  }
  ::shutdown(m_fd.get(), SHUT_WR);
  return true;
}

void serve_sequentially(int fd, ModelContext& context, [[maybe_unused]] net::PeerSlot slot) {
  // Locals go before parameters: the socket is closed before the slot gives its count back.
  Fd owned(fd);
  context.stats.connection();
  char buffer[64 * 1024];
  auto limit = idle_limit(context.config.idle_timeout);
  auto last_active = Clock::now();
  // Waits for `events` on the socket; false when told to stop, the socket broke, or the peer
  // made no progress for the idle timeout (which, for the blocking model, is what lets the next
  // client in the backlog have its turn).
  auto wait = [&](short events) {
    pollfd fds[2] = {{fd, events, 0}, {context.stop.fd(), POLLIN, 0}};
    while (true) {
      int timeout = -1;
      if (limit != Clock::duration::zero()) {
        auto left = last_active + limit - Clock::now();
        if (left <= Clock::duration::zero()) {
          context.stats.idle_closed();
          return false;
        }
        timeout = timeout_ms(left);
      }
      int rc = ::poll(fds, 2, timeout);
      if ((rc < 0 && errno == EINTR) || rc == 0) {
        continue; // a timeout goes round once more, so the deadline above decides
      }
      return rc > 0 && fds[1].revents == 0;
    }
  };
  while (wait(POLLIN)) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        continue;
      }
      return; // reset: nothing to finish
    }
    last_active = Clock::now();
    if (n == 0) {
      // Everything read has been echoed already; answer the half-close with ours.
      ::shutdown(fd, SHUT_WR);
      return;
    }
    auto size = static_cast<std::size_t>(n);
    context.stats.read(size);
    if (context.config.upper) {
      echo::upper_ascii(buffer, size);
    }
    std::size_t at = 0;
    while (at < size) {
      ssize_t sent = ::send(fd, buffer + at, size - at, MSG_NOSIGNAL);
      if (sent > 0) {
        at += static_cast<std::size_t>(sent);
        last_active = Clock::now();
        context.stats.wrote(static_cast<std::size_t>(sent));
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // A partial write: the peer is slow to read. Wait, but stay stoppable.
        if (!wait(POLLOUT)) {
          return;
        }
      } else if (errno != EINTR) {
        return;
      }
    }
  }
}

} // namespace netlab::models
