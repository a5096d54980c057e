// A one-line status on a terminal (progress lines): each update replaces the previous text, and
// clear() leaves the line empty so ordinary output continues at the start of a clean line.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace netlab {

class StatusLine {
public:
  explicit StatusLine(int fd) : m_fd(fd) {}
  void show(std::string_view text);
  void clear();
  bool shown() const { return m_shown; }

private:
  int m_fd;
  bool m_shown = false;
};

// Redraws a status line from its own thread for blocking work that has no event loop to hang a
// timer on (SFTP). `render` returns the text, or "" for no line right now. It draws holding
// `output_mutex`, the lock every other writer to the terminal holds too; such a writer calls
// clear() first, so a status never ends up glued to the start of an output line.
class PeriodicStatus {
public:
  PeriodicStatus(int fd, std::mutex& output_mutex, std::chrono::milliseconds interval,
                 std::function<std::string()> render);
  ~PeriodicStatus();
  PeriodicStatus(const PeriodicStatus&) = delete;
  PeriodicStatus& operator=(const PeriodicStatus&) = delete;

  // With output_mutex held.
  void clear() { m_line.clear(); }

private:
  void run();

  StatusLine m_line;
  std::mutex& m_output_mutex;
  std::chrono::milliseconds m_interval;
  std::function<std::string()> m_render;
  std::mutex m_stop_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace netlab
