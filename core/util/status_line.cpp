#include "core/util/status_line.hpp"

#include "core/util/fd_io.hpp"

namespace netlab {

void StatusLine::show(std::string_view text) {
  std::string line = "\r\033[K";
  line.append(text);
  // A terminal that went away costs the status, not the work it reports on.
  (void)write_all(m_fd, line, "status line");
  m_shown = true;
}

void StatusLine::clear() {
  if (m_shown) {
    (void)write_all(m_fd, "\r\033[K", "status line");
    m_shown = false;
  }
}

PeriodicStatus::PeriodicStatus(int fd, std::mutex& output_mutex, std::chrono::milliseconds interval,
                               std::function<std::string()> render)
    : m_line(fd), m_output_mutex(output_mutex), m_interval(interval), m_render(std::move(render)),
      m_thread([this] { run(); }) {}

PeriodicStatus::~PeriodicStatus() {
  {
    std::lock_guard guard(m_stop_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  m_thread.join();
  std::lock_guard output(m_output_mutex);
  m_line.clear();
}

void PeriodicStatus::run() {
  std::unique_lock guard(m_stop_mutex);
  while (!m_wake.wait_for(guard, m_interval, [this] { return m_stop; })) {
    std::lock_guard output(m_output_mutex);
    std::string text = m_render();
    if (text.empty()) {
      m_line.clear();
    } else {
      m_line.show(text);
    }
  }
}

} // namespace netlab
