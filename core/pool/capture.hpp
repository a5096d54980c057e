// A job's captured output: kept whole so it can be written out in one piece, in memory while
// small and spilled to an unlinked temp file beyond the memory limits, so nothing is ever lost.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::pool {

// Memory limits shared by every capture of one pool.
struct MemoryBudget {
  std::size_t per_capture = 1 << 20;
  std::size_t total = 64 << 20;
  std::size_t used = 0;
};

class Capture {
public:
  explicit Capture(MemoryBudget& budget) : m_budget(&budget) {}
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // With a prefix (--tag), every line starts with it, including a line split across appends.
  void set_prefix(std::string prefix) { m_prefix = std::move(prefix); }
  void append(std::string_view data);
  // With a prefix, ends a last line that has no newline, so the next job's lines start on a line
  // of their own.
  void finish_line();

  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  bool spilled() const { return m_fd >= 0; }

  // Writes everything captured to `fd`. Fails only when `fd` does (EPIPE: the reader left).
  Result<void> write_to(int fd);
  // Everything captured as one string (for --json).
  Result<std::string> read_all();
  // Forgets the content but keeps the memory, for the next job.
  void reset();

private:
  void store(std::string_view data);
  void spill();

  MemoryBudget* m_budget;
  std::string m_memory;
  std::string m_prefix;
  std::size_t m_size = 0;
  int m_fd = -1;
  bool m_at_line_start = true;
  bool m_spill_failed = false;
};

// write(2) until done, through EINTR and (for a descriptor someone made non-blocking) EAGAIN.
Result<void> write_all(int fd, std::string_view data);

} // namespace netlab::pool
