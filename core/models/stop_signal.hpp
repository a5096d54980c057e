// How the classic (plain-socket) models are told to stop, and SIGUSR1 for their stats line.
#pragma once

#include <functional>
#include <thread>

#include <signal.h>

#include "core/util/fd.hpp"

namespace netlab::models {

// A self-pipe: SIGINT/SIGTERM (or request_stop()) write a byte that is never read back, so the
// read end stays readable and every poll/select/epoll that watches it, in any thread, wakes and
// keeps waking. Blocking models wait on it beside their socket.
class StopSignal {
public:
  // With `catch_signals`, SIGINT and SIGTERM are routed here until destruction.
  explicit StopSignal(bool catch_signals);
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  int fd() const { return m_read.get(); }
  void request_stop();
  bool requested() const;
  // The signal that stopped us, or 0 (request_stop, or still running).
  int signal_number() const;

private:
  Fd m_read;
  Fd m_write;
  bool m_catching = false;
  struct sigaction m_old_int {};
  struct sigaction m_old_term {};
  struct sigaction m_old_hup {};
};

// Runs `on_usr1` on a helper thread each time SIGUSR1 arrives, until destruction.
class Usr1Reporter {
public:
  explicit Usr1Reporter(std::function<void()> on_usr1);
  ~Usr1Reporter();

private:
  Fd m_read;
  Fd m_write;
  Fd m_quit_read;
  Fd m_quit_write;
  std::thread m_thread;
  struct sigaction m_old {};
};

} // namespace netlab::models
