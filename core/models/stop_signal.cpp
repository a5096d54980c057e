#include "core/models/stop_signal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

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
    throw std::runtime_error(sys_message("pipe", "", errno));
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

struct sigaction install(int signum, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: the self-pipe is what wakes waits; interrupted reads and writes should resume.
  action.sa_flags = SA_RESTART;
  struct sigaction old {};
  sigaction(signum, &action, &old);
  return old;
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

} // namespace netlab::models
