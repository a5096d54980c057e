// Whole-buffer reads and writes on plain descriptors, and a line reader. Every command that talks
// to stdin/stdout or files uses these.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab {

// Writes all of `data`, across short writes, EINTR and (for non-blocking descriptors) EAGAIN.
// `what` names the target in the error: "write stdout: broken pipe". The failure's code is errno.
Result<void> write_all(int fd, std::string_view data, std::string_view what);

// The same for callers that end the command on failure: throws netlab::Error.
void write_all_or_throw(int fd, std::string_view data, std::string_view what = "output");

// Reads what the non-blocking `fd` holds now, `size` bytes of `buffer` at a time, handing each
// piece to `sink` (valid during the call only). Stops at a short read (drained for now) or after
// 16 pieces, so a writer that never pauses cannot keep an event loop from its other work.
// Returns the bytes read (> 0), 0 at end of file, -EAGAIN when nothing was there, or another
// -errno.
std::ptrdiff_t read_available(int fd, char* buffer, std::size_t size,
                              const std::function<void(std::string_view)>& sink);

// Reads until `size` bytes are in `buffer` or the input ends; returns the count read.
Result<std::size_t> read_full(int fd, char* buffer, std::size_t size, std::string_view what);

// Reads a descriptor in blocks with read(2), not stdio, and hands it out a line at a time. Bytes
// past the last line returned stay in the reader's buffer, so the descriptor is the reader's
// alone until the end of input.
class LineReader {
public:
  // `wait_readable`, if given, runs before each read and returns once `fd` can be read (it may
  // throw, e.g. on Ctrl-C); without it reads simply block.
  explicit LineReader(int fd, std::function<void(int fd)> wait_readable = {})
      : m_fd(fd), m_wait(std::move(wait_readable)) {}

  // The next line without its newline; a last line without one counts. False at end of input.
  // Throws netlab::Error ("read input: is a directory", exit 1) when a read fails: lines before
  // the failure have been returned, a part line before it is dropped.
  bool next(std::string& line);

private:
  int m_fd;
  std::function<void(int)> m_wait;
  std::string m_buffer;
  std::size_t m_start = 0;   // where the next line begins in m_buffer
  std::size_t m_scanned = 0; // m_buffer holds no newline from m_start up to here
  bool m_eof = false;
};

} // namespace netlab
