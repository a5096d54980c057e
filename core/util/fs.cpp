// File helpers.
#include "core/util/fs.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::fs {

Result<void> write_file_atomic(const std::string& path, const std::string& content) {
  // A random name made exclusively (mkostemp: O_CREAT|O_EXCL) beside the target: in a shared
  // folder such as /tmp, a name another user can guess could be a planted symlink.
  std::string temp = path + ".XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return fail(sys_message("write", path, errno));
  }
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0644 & ~mask);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return fail(sys_message("write", path, saved));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    return fail(sys_message("write", path, saved));
  }
  return {};
}

PortFile::PortFile(std::string path) : m_path(std::move(path)) {
  if (m_path.empty()) {
    return;
  }
  // A port file left by an earlier run names a dead port: gone before we bind, so a script that
  // waits for the file never reads it. Only a regular file or a link is removed, never a folder.
  struct stat st {};
  if (::lstat(m_path.c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
    ::unlink(m_path.c_str());
  }
}

Result<void> PortFile::write(const std::string& address) {
  if (m_path.empty()) {
    return {};
  }
  NETLAB_TRY_VOID(write_file_atomic(m_path, address + "\n"));
  m_written = address + "\n";
  return {};
}

PortFile::~PortFile() {
  if (m_written.empty()) {
    return;
  }
  // Removed when we stop, unless someone else has written it since (another server's).
  if (auto content = read_file(m_path); content && *content == m_written) {
    ::unlink(m_path.c_str());
  }
}

namespace {

Result<std::string> read_all(int fd, const std::string& path) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return fail(sys_message("read", path, saved));
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(sys_message("read", path, errno));
  }
  return read_all(fd, path);
}

Result<std::string> read_private_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted under the name must not hang the open; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return fail(sys_message("read", path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    return fail(sys_message("stat", path, saved));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(fmt::format("{}: not a regular file", path));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return fail(fmt::format("{}: permissions {:04o} are too open: group or others may read or write it; "
                            "refusing it (chmod 600 {})",
                            path, st.st_mode & 07777, path));
  }
  return read_all(fd, path);
}

void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

} // namespace netlab::fs
