// One temp file that holds, for every capture of a pool, the output too large for memory. One
// file, not one per job: with -k a slow first job keeps every later finished job's output
// waiting, and a descriptor per waiting job ran the pool out of descriptors (new jobs then failed
// to get their pipes).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

namespace netlab::pool {

// A run of bytes in the spill file: `length` bytes from `offset`.
struct SpillExtent {
  off_t offset = 0;
  std::size_t length = 0;
};

class SpillFile {
public:
  SpillFile() = default;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends `data` at the end of the file (made on first use: unnamed, O_TMPFILE, in $TMPDIR or
  // /tmp, mode 0600; a random name unlinked at once where the file system has no O_TMPFILE) and
  // adds it to `extents`: the last extent grows when no other append came between, else a new
  // one starts on the next page boundary (the gap is a hole, not disk space). On failure (the file
  // cannot be made, the disk is full) returns how many leading bytes of `data` were stored
  // (they are in `extents`; the caller keeps the rest) with the error.
  Result<void> append(std::string_view data, std::vector<SpillExtent>& extents, std::size_t& stored);

  // Gives the space of `extents` back and clears them: their pages are punched out where the
  // file system can (each extent has pages of its own); once nothing is held the file is
  // emptied. Bytes of `extents` must not be referred to by anyone after this (no sendfile of
  // them into a pipe or socket still unread: the kernel would zero them under its reader).
  void release(std::vector<SpillExtent>& extents);

  // Says on stderr that output is kept in memory because `error` refused it (an append's
  // error), the first time only: every later job meets the same full disk or missing folder,
  // and a line each would bury the run's own diagnostics.
  void say_refused(const std::string& error);

  // Reads the bytes of `extents`, in order, handing them to `sink` a piece (up to 256 KiB, valid
  // during the call) at a time; stops at the first failure of `sink`, or of a read ("read
  // spilled output: ...").
  Result<void> read(const std::vector<SpillExtent>& extents,
                    const std::function<Result<void>(std::string_view)>& sink) const;

  // The file; -1 before the first append.
  int fd() const { return m_fd.get(); }
  // Bytes held by extents not yet released.
  std::uint64_t held() const { return m_held; }

private:
  Result<void> open();

  Fd m_fd;
  off_t m_align = 4096; // what a punched hole is aligned to: pages and file system blocks
  off_t m_end = 0;
  std::uint64_t m_held = 0;
  bool m_refusal_said = false;
};

} // namespace netlab::pool
