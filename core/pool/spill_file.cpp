#include "core/pool/spill_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

Result<void> SpillFile::open() {
  const char* dir = std::getenv("TMPDIR");
  std::string folder = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  // Without a name, nobody else can open it, and it vanishes with us, even after a crash.
  Fd file(::open(folder.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600));
  if (!file && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = folder + "/netlab-pool-XXXXXX";
    file.reset(::mkostemp(path.data(), O_CLOEXEC));
    if (file) {
      ::unlink(path.c_str());
    }
  }
  if (!file) {
    return sys_failure("make a spill file in", folder, errno);
  }
  struct stat info {};
  long page = ::sysconf(_SC_PAGESIZE);
  m_align = page > 0 ? page : 4096;
  if (::fstat(file.get(), &info) == 0 && info.st_blksize > m_align) {
    m_align = (info.st_blksize + m_align - 1) / m_align * m_align;
  }
  m_fd = std::move(file);
  m_end = 0;
  return {};
}

Result<void> SpillFile::append(std::string_view data, std::vector<SpillExtent>& extents, std::size_t& stored) {
  stored = 0;
  if (!m_fd) {
    NETLAB_TRY_VOID(open());
  }
  bool follows = !extents.empty() && extents.back().offset + static_cast<off_t>(extents.back().length) == m_end;
  if (!follows) {
    // A new extent starts on a page of its own, so every page holds one extent's bytes and
    // release() can punch out each page whole.
    m_end = (m_end + m_align - 1) / m_align * m_align;
  }
  while (stored < data.size()) {
    ssize_t n = ::pwrite(m_fd.get(), data.data() + stored, data.size() - stored, m_end);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      int error = n < 0 ? errno : ENOSPC;
      return sys_failure("write the spill file", "", error);
    }
    auto written = static_cast<std::size_t>(n);
    if (follows) {
      extents.back().length += written;
    } else {
      extents.push_back({m_end, written});
    }
    m_end += static_cast<off_t>(written);
    m_held += written;
    stored += written;
    follows = true;
  }
  return {};
}

void SpillFile::say_refused(const std::string& error) {
  if (!m_refusal_said) {
    m_refusal_said = true;
    log::info("{}; keeping the output in memory", error);
  }
}

void SpillFile::release(std::vector<SpillExtent>& extents) {
  for (const auto& extent : extents) {
    m_held -= std::min<std::uint64_t>(m_held, extent.length);
    if (m_held == 0) {
      continue;
    }
    // Whole pages (and file system blocks): the extent starts on a page of its own and no
    // other extent shares its last page, so the hole covers all of its space. (Capture copies
    // spilled bytes out rather than sendfile them, so no reader still refers to these pages.)
    off_t end = (extent.offset + static_cast<off_t>(extent.length) + m_align - 1) / m_align * m_align;
    // Where holes cannot be punched, the space comes back when the file is emptied below.
    ::fallocate(m_fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, extent.offset, end - extent.offset);
  }
  extents.clear();
  if (m_held == 0 && m_fd && m_end > 0) {
    if (::ftruncate(m_fd.get(), 0) == 0) {
      m_end = 0;
    }
  }
}

Result<void> SpillFile::read(const std::vector<SpillExtent>& extents,
                             const std::function<Result<void>(std::string_view)>& sink) const {
  constexpr std::size_t k_piece = 256 * 1024;
  thread_local std::unique_ptr<char[]> buffer(new char[k_piece]);
  for (const auto& extent : extents) {
    off_t offset = extent.offset;
    std::size_t left = extent.length;
    while (left > 0) {
      ssize_t got = ::pread(m_fd.get(), buffer.get(), std::min(left, k_piece), offset);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        return fail(sys_message("read spilled output", "", got < 0 ? errno : EIO));
      }
      NETLAB_TRY_VOID(sink(std::string_view(buffer.get(), static_cast<std::size_t>(got))));
      offset += got;
      left -= static_cast<std::size_t>(got);
    }
  }
  return {};
}

} // namespace netlab::pool
