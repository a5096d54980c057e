// What stops an SFTP transfer that must not go on: a deadline (a server that stops answering
// cannot hold netlab) and INT/TERM/HUP (an interrupted transfer removes its temporary files first).
//
// libssh 0.10 waits without limit in several calls (channel open, sftp_init, every libssh SFTP
// request, a write into a full window), so a deadline cannot be a timeout argument. A watch
// thread per host shuts the session's socket down instead: every call blocked on it returns an
// error, the transfer takes its failure path and removes what it wrote. A caught signal is first
// left to the transfer to notice between chunks (it then still removes its remote temporary
// file); only a transfer stuck inside libssh for k_interrupt_grace has its socket shut down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include <libssh/libssh.h>

#include "core/util/duration.hpp"
#include "core/util/fd.hpp"

namespace netlab::ssh {

// While at least one lives (any thread), SIGINT, SIGTERM and SIGHUP are caught instead of ending
// netlab, so that transfers can remove their temporary files first; when the last one ends, the
// handlers from before come back. Outside transfers a signal acts as it did (a slow connect or a
// running command is not held up by it).
class InterruptWatch {
public:
  InterruptWatch();
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  // The signal caught so far (the first one), 0 for none. Stays set after the watch ends.
  static int caught();
  // "SIGINT" and so on.
  static std::string name(int signum);
  // Readable once a signal was caught; for poll().
  static int wake_fd();
  // Records `signum` as if it had been caught, for a caller whose own signal watchers caught it
  // (ssh-exec on pool-run's scheduler, which creates no InterruptWatch), so transfers stop the
  // same way.
  static void notify(int signum);
};

class TransferGuard {
public:
  enum class Expired { no, connect_timeout, timeout, interrupted };

  // Watches `session` (already connected): until started(), the SFTP start-up has
  // `connect_timeout`; after it the transfers have `timeout` (0: no limit).
  TransferGuard(ssh_session session, Seconds connect_timeout, Seconds timeout);
  ~TransferGuard();
  TransferGuard(const TransferGuard&) = delete;
  TransferGuard& operator=(const TransferGuard&) = delete;

  // SFTP is up: the start-up deadline is over, the transfer deadline begins. Only the first call
  // counts.
  void started();
  // The transfer should stop at the next chance: a signal was caught.
  static bool interrupted() { return InterruptWatch::caught() != 0; }
  // Why the socket was shut down, if it was.
  Expired expired() const { return m_expired.load(); }
  // Ends the watch; the session is left as it is.
  void stop();

  static constexpr std::chrono::seconds k_interrupt_grace{3};

private:
  void watch();
  void wake();

  ssh_session m_session;
  Seconds m_timeout;
  std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_deadline;
  bool m_has_deadline = true;
  bool m_started = false;
  bool m_stop = false;
  Fd m_wake; // eventfd: started() or stop()
  std::atomic<Expired> m_expired{Expired::no};
  std::thread m_thread;
};

} // namespace netlab::ssh
