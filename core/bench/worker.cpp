#include "core/bench/worker.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "core/bench/report.hpp"

namespace netlab::bench {
namespace {

constexpr std::uint64_t k_tick_ms = 10;

// Set from a signal handler (lock-free atomics are async-signal-safe); the workers' ticks see it.
std::atomic<int> g_interrupted{0};
static_assert(std::atomic<int>::is_always_lock_free);

} // namespace

extern "C" void record_interrupt(int signum) { g_interrupted.store(signum); }
void clear_interrupt() { g_interrupted.store(0); }
int recorded_interrupt() { return g_interrupted.load(); }

std::uint64_t now_ns() { return uv_hrtime(); }

Worker::Worker(const BenchConfig& config, const loop::Endpoint& endpoint, RunState& shared, bool reports_progress)
    : m_config(config), m_endpoint(endpoint), m_shared(shared),
      m_progress(reports_progress ? std::make_unique<StatusLine>(STDERR_FILENO) : nullptr) {}

void Worker::run() {
  m_start = now_ns();
  start();
  m_deadline = loop::Timer::create(m_loop);
  m_deadline->start(timer_ms(m_config.duration), 0, [this] { stop(); });
  m_tick = loop::Timer::create(m_loop);
  m_tick->start(k_tick_ms, k_tick_ms, [this] { tick(); });
  m_loop.run();
  if (m_end == 0) {
    m_end = now_ns();
  }
  m_loop.close_all();
  m_result.elapsed_s = static_cast<double>(m_end - m_start) / 1e9;
  finish();
}

void Worker::error(int index, const std::string& what) {
  ++m_result.errors;
  if (m_result.first_error.empty()) {
    m_result.first_error = fmt::format("connection {}: {}", index, what);
  }
}

void Worker::complete(std::uint64_t latency_ns) {
  ++m_result.messages;
  m_result.latency.record(latency_ns);
  auto total = m_shared.messages.fetch_add(1, std::memory_order_relaxed) + 1;
  if (m_config.max_messages != 0 && total >= m_config.max_messages) {
    m_shared.stop.store(true);
    stop();
  }
}

void Worker::stop() {
  if (m_stopping) {
    return;
  }
  m_stopping = true;
  m_end = now_ns();
  close_connections();
  for (auto* timer : {m_deadline.get(), m_tick.get()}) {
    if (timer != nullptr) {
      timer->close();
    }
  }
}

void Worker::tick() {
  if (int signum = g_interrupted.load(); signum != 0) {
    m_shared.interrupt_signal.store(signum);
    m_shared.stop.store(true);
  }
  if (m_shared.stop.load()) {
    stop();
    return;
  }
  auto now = now_ns();
  on_tick(now);
  if (m_progress && now - m_progress_at >= 1'000'000'000) {
    m_progress_at = now;
    double elapsed = static_cast<double>(now - m_start) / 1e9;
    m_progress->show(progress_text(m_config, elapsed, m_shared.messages.load(), m_shared.bytes.load()));
  }
}

} // namespace netlab::bench
