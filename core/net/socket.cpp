// Client socket helpers.
#include "core/net/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::net {

Clock::time_point time_after(Seconds duration) {
  if (!(duration > Seconds::zero())) {
    return Clock::now();
  }
  // Converting a double past the integer's range is undefined; k_max_wait keeps the sum in range.
  double seconds = std::min(duration, k_max_wait).count();
  return Clock::now() + std::chrono::microseconds(std::llround(seconds * 1e6));
}

Deadline deadline_after(Seconds duration) {
  if (!(duration > Seconds::zero())) {
    return std::nullopt;
  }
  return time_after(duration);
}

int poll_timeout(const Deadline& deadline) {
  if (!deadline) {
    return -1;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  // Round up, so poll does not wake a millisecond early and spin.
  return static_cast<int>(std::min<long long>(left + 1, 1 << 30));
}

bool wait_for(int fd, short events, const Deadline& deadline) {
  pollfd pfd{fd, events, 0};
  while (true) {
    int rc = ::poll(&pfd, 1, poll_timeout(deadline));
    if (rc > 0) {
      return true;
    }
    if (rc == 0) {
      return false;
    }
    if (errno != EINTR) {
      return true; // let the caller's next call report the error
    }
  }
}

Result<int> connect_stream(const Address& address, const Deadline& deadline) {
  NETLAB_TRY(auto endpoints, resolve(address, SOCK_STREAM));
  int last_error = ECONNREFUSED;
  for (const auto& endpoint : endpoints) {
    Fd fd(::socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_error = errno;
      continue;
    }
    if (endpoint.family() != AF_UNIX) {
      int one = 1;
      setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (::connect(fd.get(), endpoint.sa(), endpoint.length) == 0) {
      return fd.release();
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
      last_error = errno;
      continue;
    }
    if (!wait_for(fd.get(), POLLOUT, deadline)) {
      return fail(fmt::format("connect {}: timed out", address.to_string()), ETIMEDOUT);
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error == 0) {
      return fd.release();
    }
    last_error = error;
  }
  return sys_failure("connect", address.to_string(), last_error);
}

Result<void> send_all(int fd, std::string_view data, const Deadline& deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        return fail("send: timed out", ETIMEDOUT);
      }
      continue;
    }
    return sys_failure("send", "", errno);
  }
  return {};
}

} // namespace netlab::net
