// Shared plain-socket plumbing for the classic models.
#include "core/models/plumbing.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "core/echo/echo_service.hpp"
#include "core/loop/process.hpp"
#include "core/util/fd.hpp"
#include "core/util/log.hpp"

namespace netlab::models {
namespace {

// Signal handlers can reach only globals. Lock-free atomics are async-signal-safe.
std::atomic<int> g_stop_write_fd{-1};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_usr1_write_fd{-1};

void on_stop_signal(int signum) {
  int saved = errno;
  g_stop_signal.store(signum);
  g_stop_requested.store(true);
  char byte = 1;
  int fd = g_stop_write_fd.load();
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

void on_usr1(int) {
  int saved = errno;
  char byte = 1;
  int fd = g_usr1_write_fd.load();
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

struct sigaction install(int signum, void (*handler)(int)) {
  struct sigaction action{};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: the self-pipe is what wakes waits; interrupted reads and writes should resume.
  action.sa_flags = SA_RESTART;
  struct sigaction old{};
  sigaction(signum, &action, &old);
  return old;
}

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

using Clock = std::chrono::steady_clock;

// Zero means no timeout. Capped at about 31 years so the nanosecond count cannot overflow.
Clock::duration idle_limit(double seconds) {
  if (!(seconds > 0)) {
    return Clock::duration::zero();
  }
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::min(seconds, 1e9)));
}

// A poll/epoll timeout that does not wake before `left` has passed.
int timeout_ms(Clock::duration left) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, std::numeric_limits<int>::max()));
}

} // namespace

StopSignal::StopSignal(bool catch_signals) {
  std::tie(m_read, m_write) = make_pipe();
  g_stop_requested.store(false);
  g_stop_signal.store(0);
  if (catch_signals) {
    g_stop_write_fd.store(m_write.get());
    m_old_int = install(SIGINT, &on_stop_signal);
    m_old_term = install(SIGTERM, &on_stop_signal);
    m_old_hup = install(SIGHUP, &on_stop_signal);
    m_catching = true;
  }
}

StopSignal::~StopSignal() {
  if (m_catching) {
    sigaction(SIGINT, &m_old_int, nullptr);
    sigaction(SIGTERM, &m_old_term, nullptr);
    sigaction(SIGHUP, &m_old_hup, nullptr);
    g_stop_write_fd.store(-1);
  }
}

void StopSignal::request_stop() {
  g_stop_requested.store(true);
  char byte = 1;
  [[maybe_unused]] auto n = ::write(m_write.get(), &byte, 1);
}

bool StopSignal::requested() const { return g_stop_requested.load(std::memory_order_relaxed); }

int StopSignal::signal_number() const { return g_stop_signal.load(); }

Usr1Reporter::Usr1Reporter(std::function<void()> on_usr1_callback) {
  std::tie(m_read, m_write) = make_pipe();
  std::tie(m_quit_read, m_quit_write) = make_pipe();
  g_usr1_write_fd.store(m_write.get());
  m_old = install(SIGUSR1, &on_usr1);
  m_thread = std::thread([this, callback = std::move(on_usr1_callback)] {
    pollfd fds[2] = {{m_read.get(), POLLIN, 0}, {m_quit_read.get(), POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) {
        continue;
      }
      if (fds[1].revents != 0) {
        return;
      }
      char drain[64];
      while (::read(m_read.get(), drain, sizeof(drain)) > 0) {
      }
      callback();
    }
  });
}

Usr1Reporter::~Usr1Reporter() {
  char byte = 1;
  [[maybe_unused]] auto n = ::write(m_quit_write.get(), &byte, 1);
  m_thread.join();
  sigaction(SIGUSR1, &m_old, nullptr);
  g_usr1_write_fd.store(-1);
}

Result<ListenSocket> listen_on(const net::Address& address) {
  if (address.is_unix()) {
    return fail(fmt::format("address '{}': the classic models serve TCP only (unix sockets: --model uv)",
                            address.to_string()));
  }
  NETLAB_TRY(auto endpoints, net::resolve(address, SOCK_STREAM));
  const auto& endpoint = endpoints.front();
  reserve_spare_fd();
  Fd fd(::socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    return fail(fmt::format("socket {}: {}", address.to_string(), std::strerror(errno)), errno);
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), endpoint.sa(), endpoint.length) != 0) {
    return fail(fmt::format("bind {}: {}", address.to_string(), std::strerror(errno)), errno);
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    return fail(fmt::format("listen {}: {}", address.to_string(), std::strerror(errno)), errno);
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
  std::lock_guard lock(m_mutex);
  ++m_since_log;
  if (once_a_second(m_logged_at)) {
    if (peer.empty()) {
      log::info("refused {} connection(s): {}", m_since_log, why);
    } else {
      log::info("refused {} connection(s), latest from {}: {}", m_since_log, peer, why);
    }
    m_since_log = 0;
  }
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
    log::info("accept: {}", std::strerror(error));
  }
}

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

IdleSweep::IdleSweep(double idle_timeout) : m_limit(idle_limit(idle_timeout)) {
  m_period = std::clamp<Clock::duration>(m_limit / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
  m_next = Clock::now() + m_period;
}

int IdleSweep::wait_ms(std::size_t open) const {
  if (m_limit == Clock::duration::zero() || open == 0) {
    return -1;
  }
  return timeout_ms(m_next - Clock::now());
}

bool IdleSweep::due() {
  if (m_limit == Clock::duration::zero()) {
    return false;
  }
  auto now = Clock::now();
  if (now < m_next) {
    return false;
  }
  m_now = now;
  m_next = now + m_period;
  return true;
}

bool IdleSweep::expired(const EchoConnection& connection, Stats& stats) const {
  if (m_now - connection.last_active() < m_limit) {
    return false;
  }
  stats.idle_closed();
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
