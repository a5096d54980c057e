// The one owner of a plain file descriptor: sockets, pipes, files, folders, epoll and event fds.
#pragma once

#include <utility>

namespace netlab {

// Closes the descriptor it holds (if any, i.e. >= 0) when destroyed or given another one.
// Move-only; release() hands the descriptor to the caller, who then closes it.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  // Closes the held descriptor and takes `fd` (-1: none).
  void reset(int fd = -1);
  explicit operator bool() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

} // namespace netlab
