// Output capture with spill to a temp file.
#include "core/pool/capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

Result<void> write_all(int fd, std::string_view data) {
  auto written = netlab::write_all(fd, data, "");
  if (!written) {
    return sys_failure("", "", written.code());
  }
  return {};
}

Capture::~Capture() { reset(); }

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
  if (m_fd < 0 && !m_spill_failed &&
      (m_memory.size() + data.size() > m_budget->per_capture || m_budget->used + data.size() > m_budget->total)) {
    spill();
  }
  if (m_fd >= 0) {
    auto written = write_all(m_fd, data);
    if (written) {
      return;
    }
    // The disk is full: keep the bytes in memory rather than lose them. Writing the file
    // first and memory second keeps the order.
    log::info("spill output: {}; keeping it in memory", written.error());
    m_spill_failed = true;
  }
  m_memory.append(data);
  m_budget->used += data.size();
}

void Capture::spill() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = fmt::format("{}/netlab-pool-XXXXXX", dir != nullptr && *dir != '\0' ? dir : "/tmp");
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    log::info("spill output to {}: {}; keeping it in memory", path, sys_reason(errno));
    m_spill_failed = true;
    return;
  }
  // Unlinked at once: the file vanishes with us, even after a crash.
  ::unlink(path.c_str());
  if (!write_all(fd, m_memory)) {
    ::close(fd);
    m_spill_failed = true;
    return;
  }
  m_budget->used -= m_memory.size();
  m_memory.clear();
  m_memory.shrink_to_fit();
  m_fd = fd;
}

Result<void> Capture::write_to(int fd) {
  if (m_fd >= 0) {
    off_t offset = 0;
    auto length = static_cast<std::size_t>(::lseek(m_fd, 0, SEEK_CUR));
    while (static_cast<std::size_t>(offset) < length) {
      ssize_t n = ::sendfile(fd, m_fd, &offset, length - static_cast<std::size_t>(offset));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        pollfd waiter{fd, POLLOUT, 0};
        ::poll(&waiter, 1, -1);
        continue;
      }
      if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
        // sendfile does not write to every kind of descriptor; copy by hand.
        char buffer[64 * 1024];
        while (static_cast<std::size_t>(offset) < length) {
          ssize_t got = ::pread(m_fd, buffer, sizeof(buffer), offset);
          if (got <= 0) {
            return fail(sys_message("read spilled output", "", errno));
          }
          NETLAB_TRY_VOID(write_all(fd, std::string_view(buffer, static_cast<std::size_t>(got))));
          offset += got;
        }
        break;
      }
      if (n <= 0) {
        return sys_failure("", "", errno);
      }
    }
  }
  return write_all(fd, m_memory);
}

Result<std::string> Capture::read_all() {
  std::string out;
  if (m_fd >= 0) {
    auto length = static_cast<std::size_t>(::lseek(m_fd, 0, SEEK_CUR));
    out.resize(length);
    std::size_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(m_fd, out.data() + done, length - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return fail(sys_message("read spilled output", "", errno));
      }
      done += static_cast<std::size_t>(n);
    }
  }
  out.append(m_memory);
  return out;
}

void Capture::reset() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
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
