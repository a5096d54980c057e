#include "core/models/accept.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::models {
namespace {

// A descriptor held back for the moment the limit is reached. A connection that cannot be
// accepted stays pending and keeps the listening socket readable, so every poll/select/epoll
// returns at once and the server spins; giving the spare back for an instant lets us accept
// such connections and reset them instead.
std::atomic<int> g_spare_fd{-1};

void reserve_spare_fd() {
  int expected = -1;
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && !g_spare_fd.compare_exchange_strong(expected, fd)) {
    ::close(fd);
  }
}

// At most this many per call, so a flood at the limit cannot hold one pass for long.
constexpr int k_shed_batch = 64;

void shed_pending(int listen_fd) {
  int saved = errno;
  int spare = g_spare_fd.exchange(-1);
  if (spare >= 0) {
    ::close(spare);
    for (int i = 0; i < k_shed_batch; ++i) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        break;
      }
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      ::close(fd);
    }
    reserve_spare_fd();
  }
  errno = saved;
}

template <typename Clock>
bool once_a_second(std::chrono::time_point<Clock>& last) {
  auto now = Clock::now();
  if (last.time_since_epoch().count() == 0 || now - last >= std::chrono::seconds(1)) {
    last = now;
    return true;
  }
  return false;
}

} // namespace

Result<ListenSocket> listen_on(const net::Address& address) {
  if (address.is_unix()) {
    return fail(
        fmt::format("address '{}': the classic models serve TCP only (unix sockets: --model uv)", address.to_string()));
  }
  NETLAB_TRY(auto endpoints, net::resolve(address, SOCK_STREAM));
  const auto& endpoint = endpoints.front();
  reserve_spare_fd();
  Fd fd(::socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    return sys_failure("socket", address.to_string(), errno);
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), endpoint.sa(), endpoint.length) != 0) {
    return sys_failure("bind", address.to_string(), errno);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    return sys_failure("listen", address.to_string(), errno);
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &length);
  return ListenSocket{std::move(fd), loop::endpoint_from(reinterpret_cast<sockaddr*>(&storage), length)};
}

int accept_client(int listen_fd, loop::Endpoint* peer) {
  while (true) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&storage), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 && peer != nullptr) {
      *peer = loop::endpoint_from(reinterpret_cast<sockaddr*>(&storage), length);
    }
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      shed_pending(listen_fd);
    }
    if (fd >= 0 || errno != EINTR) {
      return fd;
    }
  }
}

void Refuser::refuse(int fd, Stats& stats, const std::string& why, const std::string& peer) {
  // An RST at once: the peer learns immediately, and we keep no TIME_WAIT for it.
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  ::close(fd);
  stats.refused();
  auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
  std::lock_guard lock(m_mutex);
  m_log.note(static_cast<std::uint64_t>(now_ms.count()), why, peer);
}

std::optional<net::PeerSlot> admit(int fd, const loop::Endpoint& peer, ModelContext& context, Refuser& refuser) {
  if (context.access == nullptr || !context.access->active()) {
    return net::PeerSlot();
  }
  auto admitted = context.access->admit(peer.sa());
  if (!admitted) {
    refuser.refuse(fd, context.stats, admitted.error(), peer.to_string());
    return std::nullopt;
  }
  return std::move(*admitted);
}

bool accept_batch(ModelContext& context, Refuser& refuser, int max_batch, const std::function<std::size_t()>& open,
                  const std::function<void(int fd, net::PeerSlot slot)>& adopt) {
  bool accepted = false;
  for (int batch = 0; batch < max_batch; ++batch) {
    loop::Endpoint peer;
    int fd = accept_client(context.listen_fd, &peer);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
        note_accept_error(errno);
      }
      break;
    }
    accepted = true;
    auto slot = admit(fd, peer, context, refuser);
    if (!slot) {
      continue;
    }
    if (open() >= context.config.max_conns) {
      refuser.refuse(fd, context.stats, fmt::format("--max-conns {} reached", context.config.max_conns));
      continue;
    }
    adopt(fd, std::move(*slot));
  }
  return accepted;
}

void note_accept_error(int error) {
  static std::mutex mutex;
  static std::chrono::steady_clock::time_point logged_at{};
  std::lock_guard lock(mutex);
  if (once_a_second(logged_at)) {
    log::info("{}", sys_message("accept", "", error));
  }
}

} // namespace netlab::models
