// Counters every model keeps, so the models can be compared side by side.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace netlab::models {

class Stats {
public:
  Stats() : m_start(std::chrono::steady_clock::now()) {}

  // Relaxed atomics: the threads model updates them from many threads, and nothing orders
  // other memory by them.
  void connection() { m_connections.fetch_add(1, std::memory_order_relaxed); }
  void refused() { m_refused.fetch_add(1, std::memory_order_relaxed); }
  void idle_closed() { m_idle_closed.fetch_add(1, std::memory_order_relaxed); }
  // The uv model's idle sweep runs inside net::run_server, out of its sight: it leaves the count
  // out of the summary rather than print a zero.
  void set_counts_idle(bool counts) { m_counts_idle = counts; }
  void read(std::size_t bytes) {
    m_reads.fetch_add(1, std::memory_order_relaxed);
    m_bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  }
  void wrote(std::size_t bytes) { m_bytes_out.fetch_add(bytes, std::memory_order_relaxed); }

  std::uint64_t connections() const { return m_connections.load(std::memory_order_relaxed); }
  std::uint64_t refusals() const { return m_refused.load(std::memory_order_relaxed); }
  std::uint64_t idle_closes() const { return m_idle_closed.load(std::memory_order_relaxed); }
  std::uint64_t reads() const { return m_reads.load(std::memory_order_relaxed); }
  std::uint64_t bytes_in() const { return m_bytes_in.load(std::memory_order_relaxed); }
  std::uint64_t bytes_out() const { return m_bytes_out.load(std::memory_order_relaxed); }

  // One line: totals, per-second rates since start, and the process's CPU time.
  std::string summary(std::string_view model) const;

private:
  std::chrono::steady_clock::time_point m_start;
  std::atomic<std::uint64_t> m_connections{0};
  std::atomic<std::uint64_t> m_refused{0};
  std::atomic<std::uint64_t> m_idle_closed{0};
  std::atomic<std::uint64_t> m_reads{0};
  std::atomic<std::uint64_t> m_bytes_in{0};
  std::atomic<std::uint64_t> m_bytes_out{0};
  bool m_counts_idle = true;
};

// Seconds of user and system CPU this process has used.
struct CpuTime {
  double user = 0;
  double system = 0;
};
CpuTime process_cpu_time();

} // namespace netlab::models
