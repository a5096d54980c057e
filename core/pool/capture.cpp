// Output capture: holding pipe, memory, spill file.
#include "core/pool/capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/util/fd_io.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

Result<void> write_all(int fd, std::string_view data) {
  auto written = netlab::write_all(fd, data, "");
  if (!written) {
    return sys_failure("", "", written.code());
  }
  return {};
}

Capture::~Capture() {
  reset();
  close_holding();
}

namespace {

// Waits until `fd` can be written, for a descriptor someone made non-blocking.
void wait_writable(int fd) {
  pollfd waiter{fd, POLLOUT, 0};
  ::poll(&waiter, 1, -1);
}

// Read in large pieces: a job writing a lot wakes us less often.
constexpr std::size_t k_read_chunk = 256 * 1024;

} // namespace

std::ptrdiff_t Capture::take_from(int fd) {
  if (m_holding_wanted && m_prefix.empty() && !m_holding_full) {
    auto taken = splice_in(fd);
    if (taken != -ENOSPC) {
      return taken;
    }
    m_holding_full = true;
  }
  return read_in(fd);
}

bool Capture::open_holding() {
  if (m_hold_read) {
    return true;
  }
  std::size_t left = m_budget->pipe_total - std::min(m_budget->pipe_total, m_budget->pipe_used);
  std::size_t want = std::min(m_budget->pipe_per_capture, left) & ~std::size_t{4095};
  // Below the kernel's default size a holding pipe saves too little to be worth a pipe.
  if (want < (64 << 10) || m_budget->pipe_count >= m_budget->pipe_count_max) {
    return false;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return false;
  }
  m_hold_read.reset(fds[0]);
  m_hold_write.reset(fds[1]);
  int size = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(want));
  if (size < 0) {
    size = ::fcntl(fds[1], F_GETPIPE_SZ);
  }
  // Counted at least at what was asked for: a pipe the kernel kept smaller (the user past the
  // pipe quota) must not let more pipes, and their descriptors, in; 16 MiB holds at most 17.
  m_hold_capacity = std::max(want, size > 0 ? static_cast<std::size_t>(size) : 0);
  m_budget->pipe_used += m_hold_capacity;
  ++m_budget->pipe_count;
  return true;
}

void Capture::close_holding() {
  if (m_hold_read && m_budget->pipe_count > 0) {
    --m_budget->pipe_count;
  }
  m_hold_read.reset();
  m_hold_write.reset();
  m_budget->pipe_used -= std::min(m_budget->pipe_used, m_hold_capacity);
  m_hold_capacity = 0;
  m_held = 0;
}

std::ptrdiff_t Capture::splice_in(int fd) {
  // Bytes already in memory or a file come before anything taken now: keep the order.
  if (m_spilling || !m_extents.empty() || !m_memory.empty() || !open_holding()) {
    return -ENOSPC;
  }
  std::ptrdiff_t taken = 0;
  while (true) {
    ssize_t n = ::splice(fd, nullptr, m_hold_write.get(), nullptr, 1 << 30, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      taken += n;
      m_held += static_cast<std::size_t>(n);
      m_size += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) {
      return taken > 0 ? taken : 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN) {
      // Either the job's pipe is empty or ours is full; only the second leaves bytes behind.
      int pending = 0;
      if (::ioctl(fd, FIONREAD, &pending) == 0 && pending == 0) {
        // A full holding pipe also makes it EAGAIN at the job pipe's end of file (the kernel
        // checks for room before it looks for writers): an empty pipe without writers is the end.
        pollfd ended{fd, POLLIN, 0};
        if (::poll(&ended, 1, 0) == 1 && (ended.revents & (POLLHUP | POLLIN)) == POLLHUP) {
          return taken > 0 ? taken : 0;
        }
        return taken > 0 ? taken : -EAGAIN;
      }
    }
    // Full, or splice refused (EINVAL...): what is left goes through memory.
    if (taken > 0) {
      m_holding_full = true;
      return taken;
    }
    return -ENOSPC;
  }
}

std::ptrdiff_t Capture::read_in(int fd) {
  thread_local std::unique_ptr<char[]> buffer(new char[k_read_chunk]);
  return read_available(fd, buffer.get(), k_read_chunk, [this](std::string_view data) { append(data); });
}

void Capture::append(std::string_view data) {
  if (m_prefix.empty()) {
    store(data);
    return;
  }
  while (!data.empty()) {
    if (m_at_line_start) {
      store(m_prefix);
      m_at_line_start = false;
    }
    auto newline = data.find('\n');
    if (newline == std::string_view::npos) {
      store(data);
      return;
    }
    store(data.substr(0, newline + 1));
    data.remove_prefix(newline + 1);
    m_at_line_start = true;
  }
}

void Capture::finish_line() {
  if (!m_prefix.empty() && !m_at_line_start) {
    store("\n");
    m_at_line_start = true;
  }
}

void Capture::store(std::string_view data) {
  m_size += data.size();
  if (!m_spilling && !m_spill_failed &&
      (m_memory.size() + data.size() > m_budget->per_capture || m_budget->used + data.size() > m_budget->total)) {
    spill();
  }
  if (m_spilling) {
    std::size_t stored = 0;
    auto appended = m_spill_file->append(data, m_extents, stored);
    if (appended) {
      return;
    }
    // The disk is full: keep the bytes in memory rather than lose them, after those stored.
    m_spill_file->say_refused(appended.error());
    m_spilling = false;
    m_spill_failed = true;
    data.remove_prefix(stored);
  }
  m_memory.append(data);
  m_budget->used += data.size();
}

void Capture::spill() {
  std::size_t stored = 0;
  auto appended = m_spill_file->append(m_memory, m_extents, stored);
  m_budget->used -= stored;
  if (!appended) {
    m_spill_file->say_refused(appended.error());
    m_spill_failed = true;
    m_memory.erase(0, stored);
    return;
  }
  m_memory.clear();
  m_memory.shrink_to_fit();
  m_spilling = true;
}

// Moves the holding pipe's bytes to `fd`, spliced (the kernel hands its pages over), or where
// `fd` takes no splice (a terminal, a file opened O_APPEND) read and written.
Result<void> Capture::write_held(int fd) {
  int hold = m_hold_read.get();
  while (m_held > 0) {
    ssize_t n = ::splice(hold, nullptr, fd, nullptr, m_held, SPLICE_F_MOVE);
    if (n > 0) {
      m_held -= static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) {
      // The pipe ended early, which only a miscount of ours could make happen.
      m_held = 0;
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN) {
      wait_writable(fd);
      continue;
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return sys_failure("", "", errno);
    }
    char buffer[64 * 1024];
    while (m_held > 0) {
      ssize_t got = ::read(hold, buffer, std::min(sizeof(buffer), m_held));
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        return fail(sys_message("read held output", "", got < 0 ? errno : EIO));
      }
      m_held -= static_cast<std::size_t>(got);
      NETLAB_TRY_VOID(write_all(fd, std::string_view(buffer, static_cast<std::size_t>(got))));
    }
  }
  return {};
}

Result<void> Capture::write_to(int fd) {
  NETLAB_TRY_VOID(write_held(fd));
  // Spilled bytes are copied out, never handed over with sendfile(2): into a pipe or a socket
  // that leaves references to the spill file's page-cache folios, and giving the extent's space
  // back (a punched hole, the file emptied) zeroes in place any folio it covers only in part,
  // under the reader. With large folios (ext4's since Linux 6.16) even whole pages can be such a
  // part, so no alignment of ours makes the references safe.
  NETLAB_TRY_VOID(m_spill_file->read(m_extents, [fd](std::string_view piece) { return write_all(fd, piece); }));
  return write_all(fd, m_memory);
}

Result<std::string> Capture::read_all() {
  std::string out;
  while (m_held > 0) {
    std::size_t at = out.size();
    out.resize(at + m_held);
    ssize_t got = ::read(m_hold_read.get(), out.data() + at, m_held);
    if (got < 0 && errno == EINTR) {
      out.resize(at);
      continue;
    }
    if (got <= 0) {
      return fail(sys_message("read held output", "", got < 0 ? errno : EIO));
    }
    out.resize(at + static_cast<std::size_t>(got));
    m_held -= static_cast<std::size_t>(got);
  }
  NETLAB_TRY_VOID(m_spill_file->read(m_extents, [&out](std::string_view piece) -> Result<void> {
    out.append(piece);
    return {};
  }));
  out.append(m_memory);
  return out;
}

void Capture::reset() {
  if (m_held > 0) {
    // Never written out (a retry, a halt): dropping the pipe drops its pages at once.
    close_holding();
  }
  m_holding_full = false;
  m_spill_file->release(m_extents);
  m_spilling = false;
  m_budget->used -= m_memory.size();
  // Keep the capacity for the next job, but not a huge one a single job needed.
  if (m_memory.capacity() > m_budget->per_capture) {
    std::string().swap(m_memory);
  } else {
    m_memory.clear();
  }
  m_size = 0;
  m_at_line_start = true;
  m_spill_failed = false;
}

} // namespace netlab::pool
