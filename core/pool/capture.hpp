// A job's captured output: kept whole so it can be written out in one piece, so nothing is ever
// lost. Where it is kept, in order:
//  1. a holding pipe (stdout of local jobs, without --tag): take_from() moves the job's bytes
//     from the job's pipe into it with splice(2), which hands over the kernel's pages without
//     copying them, and write_to() splices them on to our stdout the same way when that is a
//     pipe, a socket, /dev/null or a plain file. The bytes never enter our memory. A pipe holds a
//     bounded number of pages (and a small write takes a whole one), so once it is full the rest
//     goes to
//  2. memory while small, and
//  3. the pool's one spill file (core/pool/spill_file.hpp) beyond the memory limits.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/pool/spill_file.hpp"
#include "core/util/fd.hpp"
#include "core/util/result.hpp"

namespace netlab::pool {

// Memory limits shared by every capture of one pool.
struct MemoryBudget {
  std::size_t per_capture = 1 << 20;
  std::size_t total = 64 << 20;
  std::size_t used = 0;
  // Holding pipes: up to 1 MiB each within 16 MiB for all, in bytes of pipe capacity. Past the
  // user's fs.pipe-user-pages-soft (64 MiB by default) the kernel gives every new pipe of that
  // user, anyone's, two pages, so these stay well under it (the jobs' own pipes do not, with a few
  // hundred running: docs/pool-run.md, Parallelism).
  std::size_t pipe_per_capture = 1 << 20;
  std::size_t pipe_total = 16 << 20;
  std::size_t pipe_used = 0;
  // Holding pipes at once: the pool sets what its open-file limit leaves after its jobs
  // (holding_pipe_cap in core/pool/command_line.hpp).
  std::size_t pipe_count_max = SIZE_MAX;
  std::size_t pipe_count = 0;
};

class Capture {
public:
  // `budget` and `spill` are shared by the pool's captures and outlive them.
  Capture(MemoryBudget& budget, SpillFile& spill) : m_budget(&budget), m_spill_file(&spill) {}
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // With a prefix (--tag), every line starts with it, including a line split across appends.
  // A prefix turns the holding pipe off: lines must be seen to be prefixed.
  void set_prefix(std::string prefix) { m_prefix = std::move(prefix); }
  // Lets take_from() keep bytes in a holding pipe (created on first use, kept across reset()).
  void use_holding_pipe(bool use) { m_holding_wanted = use; }
  void append(std::string_view data);
  // Takes what the pipe `fd` (its read end, non-blocking) holds now: spliced into the holding
  // pipe while that has room, read into memory (or the spill file) otherwise. Returns the bytes
  // taken (> 0), 0 at end of file, -EAGAIN when nothing was there, or another -errno for a read
  // that failed.
  std::ptrdiff_t take_from(int fd);
  // With a prefix, ends a last line that has no newline, so the next job's lines start on a line
  // of their own.
  void finish_line();

  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  bool spilled() const { return !m_extents.empty(); }

  // Writes everything captured to `fd` (blocking or not: a full `fd` is waited for): the
  // holding pipe's bytes spliced where the kernel can, copied where it cannot (a terminal, an
  // O_APPEND file); spilled bytes and memory copied. Once. Fails only when `fd` does (EPIPE: the
  // reader left) or the spill file cannot be read.
  Result<void> write_to(int fd);
  // Everything captured as one string (for --json). Once: it empties the holding pipe.
  Result<std::string> read_all();
  // Forgets the content but keeps the memory and an empty holding pipe, for the next job.
  void reset();

private:
  void store(std::string_view data);
  void spill();
  // Splices from `fd` into the holding pipe; returns as take_from, or -ENOSPC when it is full
  // (or cannot be had), from which point this job's bytes go to memory.
  std::ptrdiff_t splice_in(int fd);
  std::ptrdiff_t read_in(int fd);
  bool open_holding();
  void close_holding();
  Result<void> write_held(int fd);

  MemoryBudget* m_budget;
  SpillFile* m_spill_file;
  std::vector<SpillExtent> m_extents; // this capture's bytes in the spill file, in order
  std::string m_memory;
  std::string m_prefix;
  std::size_t m_size = 0;
  bool m_spilling = false; // later bytes go to the spill file
  bool m_at_line_start = true;
  bool m_spill_failed = false;
  bool m_holding_wanted = false;
  // Full (or refused) for this job: later bytes go to memory, after the held ones.
  bool m_holding_full = false;
  Fd m_hold_read;
  Fd m_hold_write;
  std::size_t m_hold_capacity = 0; // bytes of pipe capacity counted in the budget
  std::size_t m_held = 0;          // bytes in the holding pipe
};

// write(2) until done, through EINTR and (for a descriptor someone made non-blocking) EAGAIN.
Result<void> write_all(int fd, std::string_view data);

} // namespace netlab::pool
