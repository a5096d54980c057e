// Temp file + rename.
#include "core/framefile/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/util/fd_io.hpp"

namespace netlab::framefile {

AtomicFile::~AtomicFile() { discard(); }

Result<void> AtomicFile::open(const std::string& path) {
  discard();
  m_path = path;
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A dot name keeps the temporary file out of a casual `ls` while it is being written.
  std::string templ = fmt::format("{}.{}.netlab-XXXXXX", dir, base);
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) {
    return fail(fmt::format("create {}: {}", path, std::strerror(errno)), errno);
  }
  m_fd = fd;
  m_temp = buffer.data();
  return {};
}

Result<void> AtomicFile::write(std::string_view data) { return write_all(m_fd, data, m_path); }

Result<void> AtomicFile::commit(mode_t mode) {
  if (::fchmod(m_fd, mode) != 0) {
    int saved = errno;
    discard();
    return fail(fmt::format("chmod {}: {}", m_path, std::strerror(saved)), saved);
  }
  int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    int saved = errno;
    ::unlink(m_temp.c_str());
    m_temp.clear();
    return fail(fmt::format("write {}: {}", m_path, std::strerror(saved)), saved);
  }
  if (::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    int saved = errno;
    ::unlink(m_temp.c_str());
    m_temp.clear();
    return fail(fmt::format("rename into {}: {}", m_path, std::strerror(saved)), saved);
  }
  m_temp.clear();
  return {};
}

void AtomicFile::discard() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
  if (!m_temp.empty()) {
    ::unlink(m_temp.c_str());
    m_temp.clear();
  }
}

mode_t default_file_mode() {
  // umask can only be read by setting it; put it straight back.
  mode_t mask = ::umask(022);
  ::umask(mask);
  return 0666 & ~mask;
}

} // namespace netlab::framefile
