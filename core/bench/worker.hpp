// What the TCP and UDP workers share: one libuv loop per thread, the run's deadline, the message
// cap, Ctrl-C, errors and the progress line. Internal to core/bench.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bench/bench.hpp"
#include "core/bench/pattern.hpp"
#include "core/loop/endpoint.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/timer.hpp"
#include "core/util/status_line.hpp"

namespace netlab::bench {

// One run's state: the counters every worker thread adds to, and the flag that stops them all.
struct RunState {
  std::atomic<int> interrupt_signal{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<bool> stop{false};
};

// SIGINT/SIGTERM, recorded from a signal handler (async-signal-safe) for the workers' ticks.
extern "C" void record_interrupt(int signum);
void clear_interrupt();
int recorded_interrupt();

std::uint64_t now_ns();

class Worker {
public:
  virtual ~Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the connections on this thread's loop until the deadline, the message cap, Ctrl-C or
  // another worker says stop.
  void run();
  const BenchResult& result() const { return m_result; }
  // A connect or a send was refused (nothing listens there).
  bool connect_refused() const { return m_connect_refused; }
  // The progress line, if this worker draws it (the first one does).
  StatusLine* progress() { return m_progress.get(); }

protected:
  Worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared, bool reports_progress);

  // Opens every connection, at the start of run().
  virtual void start() = 0;
  // Closes every connection (and timers of the subclass's own) once, at stop().
  virtual void close_connections() = 0;
  // Every tick (10 ms), unless stopping.
  virtual void on_tick(std::uint64_t now) { (void)now; }
  // After the loop has ended, before the figures are read.
  virtual void finish() {}

  // Counts an error on connection `index`; the first one is kept for the report.
  void error(int index, const std::string& what);
  // One verified round trip that took `latency_ns`.
  void complete(std::uint64_t latency_ns);
  void stop();

  const BenchConfig& m_config;
  loop::Endpoint m_endpoint;
  RunState& m_shared;
  loop::Loop m_loop;
  BenchResult m_result;
  bool m_connect_refused = false;
  bool m_stopping = false;

private:
  void tick();

  std::unique_ptr<StatusLine> m_progress;
  std::shared_ptr<loop::Timer> m_deadline;
  std::shared_ptr<loop::Timer> m_tick;
  std::uint64_t m_start = 0;
  std::uint64_t m_end = 0;
  std::uint64_t m_progress_at = 0;
};

// What each kind of connection starts with: its number (errors name it), where in the pattern
// its bytes start (connection_offset(index)), and when its message awaiting an answer was sent.
struct ConnectionBase {
  int index = 0;
  std::uint64_t base = 0;
  std::uint64_t sent_at = 0;
};

// A worker holding one `Connection` (derived from ConnectionBase) per index in `indexes`. The
// constructor is public so subclasses can inherit it (`using ConnectionWorker::ConnectionWorker`)
// for make_unique; the class stays abstract.
template <typename Connection>
class ConnectionWorker : public Worker {
public:
  ConnectionWorker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared,
                   const std::vector<int>& indexes, bool reports_progress)
      : Worker(config, endpoint, shared, reports_progress) {
    for (int index : indexes) {
      auto connection = std::make_unique<Connection>();
      connection->index = index;
      connection->base = connection_offset(index);
      m_connections.push_back(std::move(connection));
    }
  }

protected:
  std::vector<std::unique_ptr<Connection>> m_connections;
};

// The connection indexes `indexes` (each one's offset in the pattern follows from it) against
// `endpoint`, over TCP (TLS when config.tls is set) or UDP as config.udp says.
std::unique_ptr<Worker> make_tcp_worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared,
                                        const std::vector<int>& indexes, bool reports_progress);
std::unique_ptr<Worker> make_udp_worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared,
                                        const std::vector<int>& indexes, bool reports_progress);

} // namespace netlab::bench
