#include "core/ssh/transfer_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

namespace netlab::ssh {
namespace {

constexpr std::array<int, 3> k_signals = {SIGINT, SIGTERM, SIGHUP};

volatile std::sig_atomic_t g_caught = 0;
int g_pipe[2] = {-1, -1};
struct sigaction g_previous[3];
// Watches alive; the handlers are installed while it is above zero.
std::mutex g_watch_mutex;
std::size_t g_watchers = 0;

extern "C" void on_signal(int signum) {
  int saved = errno;
  if (g_caught == 0) {
    g_caught = signum;
    char byte = 1;
    // Never drained: the read end stays readable for every watcher.
    (void)!::write(g_pipe[1], &byte, 1);
  }
  errno = saved;
}

using Clock = std::chrono::steady_clock;

int milliseconds_until(Clock::time_point when) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

Clock::time_point after(Seconds duration) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(duration);
}

} // namespace

InterruptWatch::InterruptWatch() {
  std::lock_guard lock(g_watch_mutex);
  if (g_watchers++ > 0) {
    return;
  }
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
  }
  for (std::size_t i = 0; i < k_signals.size(); ++i) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(k_signals[i], &action, &g_previous[i]);
  }
}

InterruptWatch::~InterruptWatch() {
  std::lock_guard lock(g_watch_mutex);
  if (--g_watchers > 0) {
    return;
  }
  for (std::size_t i = 0; i < k_signals.size(); ++i) {
    ::sigaction(k_signals[i], &g_previous[i], nullptr);
  }
}

int InterruptWatch::caught() { return g_caught; }

int InterruptWatch::wake_fd() { return g_pipe[0]; }

void InterruptWatch::notify(int signum) {
  if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
  }
  on_signal(signum);
}

std::string InterruptWatch::name(int signum) {
  switch (signum) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  case SIGHUP:
    return "SIGHUP";
  default:
    return "signal " + std::to_string(signum);
  }
}

TransferGuard::TransferGuard(ssh_session session, Seconds connect_timeout, Seconds timeout)
    : m_session(session), m_timeout(timeout), m_deadline(after(connect_timeout)) {
  m_wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  m_thread = std::thread([this] { watch(); });
}

TransferGuard::~TransferGuard() { stop(); }

void TransferGuard::started() {
  {
    std::lock_guard lock(m_mutex);
    if (m_started) {
      return;
    }
    m_started = true;
    m_has_deadline = m_timeout > Seconds::zero();
    if (m_has_deadline) {
      m_deadline = after(m_timeout);
    }
  }
  wake();
}

void TransferGuard::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  wake();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void TransferGuard::wake() {
  std::uint64_t one = 1;
  (void)!::write(m_wake.get(), &one, sizeof one);
}

void TransferGuard::watch() {
  std::optional<Clock::time_point> grace_end;
  while (true) {
    Clock::time_point deadline;
    bool has_deadline = false;
    bool started = false;
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) {
        return;
      }
      deadline = m_deadline;
      has_deadline = m_has_deadline;
      started = m_started;
    }
    if (grace_end && (!has_deadline || *grace_end < deadline)) {
      deadline = *grace_end;
      has_deadline = true;
    }
    std::array<pollfd, 2> fds{};
    fds[0] = {m_wake.get(), POLLIN, 0};
    fds[1] = {grace_end ? -1 : InterruptWatch::wake_fd(), POLLIN, 0};
    int rc = ::poll(fds.data(), fds.size(), has_deadline ? milliseconds_until(deadline) : -1);
    if (rc < 0) {
      continue; // EINTR: our own handler ran
    }
    if ((fds[0].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)!::read(m_wake.get(), &count, sizeof count);
      continue;
    }
    if (!grace_end && (fds[1].revents & POLLIN) != 0) {
      grace_end = Clock::now() + k_interrupt_grace;
      continue;
    }
    if (has_deadline && Clock::now() >= deadline) {
      m_expired = grace_end && *grace_end <= deadline ? Expired::interrupted
                  : started                           ? Expired::timeout
                                                      : Expired::connect_timeout;
      if (int fd = ssh_get_fd(m_session); fd >= 0) {
        ::shutdown(fd, SHUT_RDWR);
      }
      return;
    }
  }
}

} // namespace netlab::ssh
