// Descriptor I/O helpers.
#include "core/util/fd_io.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/util/error.hpp"
#include "core/util/sys_error.hpp"

namespace netlab {

Result<void> write_all(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        pollfd waiter{fd, POLLOUT, 0};
        ::poll(&waiter, 1, -1);
        continue;
      }
      return sys_failure("write", what, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void write_all_or_throw(int fd, std::string_view data, std::string_view what) {
  auto written = write_all(fd, data, what);
  if (!written) {
    throw Error(written.error());
  }
}

std::ptrdiff_t read_available(int fd, char* buffer, std::size_t size,
                              const std::function<void(std::string_view)>& sink) {
  std::ptrdiff_t taken = 0;
  for (int round = 0; round < 16; ++round) {
    ssize_t n = ::read(fd, buffer, size);
    if (n > 0) {
      sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      taken += n;
      if (static_cast<std::size_t>(n) < size) {
        return taken;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (taken > 0) {
      return taken;
    }
    return n == 0 ? 0 : -errno;
  }
  return taken;
}

Result<std::size_t> read_full(int fd, char* buffer, std::size_t size, std::string_view what) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buffer + done, size - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_failure("read", what, errno);
    }
    if (n == 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

bool LineReader::next(std::string& line) {
  while (true) {
    auto newline = m_buffer.find('\n', m_scanned);
    if (newline != std::string::npos) {
      line.assign(m_buffer, m_start, newline - m_start);
      m_start = newline + 1;
      m_scanned = m_start;
      return true;
    }
    // Remember how far we looked, so a long line arriving in pieces is not rescanned each time.
    m_scanned = m_buffer.size();
    if (m_eof) {
      bool last = m_start < m_buffer.size();
      if (last) {
        line.assign(m_buffer, m_start);
      }
      m_buffer.clear();
      m_start = m_scanned = 0;
      return last;
    }
    // Consumed lines go only before a read: one move per read rather than one per line, which
    // for short lines was most of the cost of reading them.
    if (m_start > 0) {
      m_buffer.erase(0, m_start);
      m_scanned -= m_start;
      m_start = 0;
    }
    if (m_wait) {
      m_wait(m_fd);
    }
    char chunk[65536];
    ssize_t n = ::read(m_fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      // Not the end of the input: what followed is unknown, and taking it for the end would
      // make a command succeed on input it never saw (`pack --batch < /`).
      throw Error(sys_message("read", "input", errno));
    }
    if (n == 0) {
      m_eof = true;
      continue;
    }
    m_buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

} // namespace netlab
