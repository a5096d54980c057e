// What the classic (plain-socket) models share: a stop signal that wakes any wait, the listening
// socket, admitting and refusing connections, and the echo state machine of one non-blocking
// connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <signal.h>

#include "core/models/model.hpp"
#include "core/net/socket.hpp"
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
  struct sigaction m_old_int{};
  struct sigaction m_old_term{};
  struct sigaction m_old_hup{};
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
  struct sigaction m_old{};
};

// A bound, listening TCP socket (non-blocking, close-on-exec) and the address it got.
struct ListenSocket {
  Fd fd;
  loop::Endpoint bound;
};
Result<ListenSocket> listen_on(const net::Address& address);

// Accepts one connection as a non-blocking socket, storing its address in `peer` if given; -1
// with errno as accept4 left it. At the descriptor limit (EMFILE/ENFILE) the connections waiting
// are reset, using a spare descriptor listen_on() set aside, so they cannot keep the listening
// socket readable and the model spinning.
int accept_client(int listen_fd, loop::Endpoint* peer = nullptr);

// Refuses an accepted connection with an RST and logs why (naming the latest peer, if known), at
// most once a second.
class Refuser {
public:
  void refuse(int fd, Stats& stats, const std::string& why, const std::string& peer = {});

private:
  std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_logged_at{};
  std::uint64_t m_since_log = 0;
};

// Applies --allow-from, --deny-from and --max-conns-per-ip to a connection just accepted, before
// any byte is read: the slot to keep for the connection's lifetime, or nullopt once refused.
std::optional<net::PeerSlot> admit(int fd, const loop::Endpoint& peer, ModelContext& context, Refuser& refuser);

// Logs an accept failure (EMFILE and the like) at most once a second.
void note_accept_error(int error);

// The readiness models' accept step: takes up to `max_batch` waiting connections (bounded, so a
// flood cannot starve the clients already in), refuses those the access rules or --max-conns
// turn away (`open` says how many the model holds now), and hands the rest to `adopt`, which owns
// the descriptor from then on. Returns whether anything was accepted.
bool accept_batch(ModelContext& context, Refuser& refuser, int max_batch, const std::function<std::size_t()>& open,
                  const std::function<void(int fd, net::PeerSlot slot)>& adopt);

enum class Io { idle, progress, closed };

// One echo connection on a non-blocking socket for the readiness-driven models. Output the peer
// has not read yet is kept here, up to max_buffered; past that the model stops asking to read,
// so a peer that never reads costs only its own bound. The destructor closes the socket.
class EchoConnection {
public:
  EchoConnection(int fd, const ModelConfig& config, Stats& stats, net::PeerSlot slot = {});
  ~EchoConnection();
  EchoConnection(const EchoConnection&) = delete;
  EchoConnection& operator=(const EchoConnection&) = delete;

  int fd() const { return m_fd.get(); }
  // When a read or a write last made progress (EOF counts: it is news from the peer).
  std::chrono::steady_clock::time_point last_active() const { return m_last_active; }
  bool wants_read() const { return !m_input_ended && pending() < m_config.max_buffered; }
  bool wants_write() const { return pending() > 0; }

  // Reads what the kernel has (one recv) and echoes it.
  Io on_readable();
  // Sends what is pending.
  Io on_writable();

private:
  std::size_t pending() const { return m_out.size() - m_out_offset; }
  // Sends pending bytes; false on a broken connection.
  bool flush(bool& progressed);
  // After EOF and a full echo, half-close like the peer did; the connection is then done.
  bool finished();

  Fd m_fd;
  const ModelConfig& m_config;
  Stats& m_stats;
  std::string m_out;
  std::size_t m_out_offset = 0;
  bool m_input_ended = false;
  std::chrono::steady_clock::time_point m_last_active;
  net::PeerSlot m_slot;
};

// --idle-timeout for the readiness models, without a timer per connection: each connection
// remembers its last progress and the model scans them once a period, capping its wait so the
// scan happens even when nothing is ready. The period is a quarter of the timeout but at most a
// second, like net::run_server's sweeper: thousands of open connections cost one scan a second,
// not one per wake-up, and an idle one outlives the timeout by at most a period.
class IdleSweep {
public:
  explicit IdleSweep(double idle_timeout);
  // How long the model may wait before the next scan is due, in milliseconds; -1 (no limit)
  // without a timeout or with nothing open to scan.
  int wait_ms(std::size_t open) const;
  // True when a scan is due; the next one is then a period away.
  bool due();
  // Whether the connection made no progress for longer than the timeout, as of the scan; if so
  // it is counted as an idle close, and the model closes it.
  bool expired(const EchoConnection& connection, Stats& stats) const;

private:
  std::chrono::steady_clock::duration m_limit{};
  std::chrono::steady_clock::duration m_period{};
  std::chrono::steady_clock::time_point m_next;
  std::chrono::steady_clock::time_point m_now;
};

// The blocking models' connection: read, echo all of it, repeat, one step at a time, waiting on
// the socket and the stop signal together, each wait bounded by --idle-timeout since the last
// progress. Returns when the peer is done, broke, idled out, or we stop; the slot is given back
// then.
void serve_sequentially(int fd, ModelContext& context, net::PeerSlot slot = {});

} // namespace netlab::models
