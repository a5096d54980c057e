// Temp file + rename, relative to an open folder, and the signal handlers that clean up.
#include "core/framefile/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "core/util/exit_code.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::framefile {
namespace {

constexpr int k_cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr char k_temp_prefix[] = ".netlab-";

// The temporary file a signal handler must remove: its folder descriptor (-1 for none) and
// name. Written only with the cleanup signals blocked, read only by the handler.
std::atomic<int> g_temp_dir{-1};
char g_temp_name[32];
struct sigaction g_previous[3];
int g_installed = 0;
// The line the handler writes, made beforehand: formatting is not async-signal-safe.
char g_interrupted_line[128];
std::size_t g_interrupted_size = 0;

extern "C" void remove_temporary_and_exit(int signum) {
  int dir = g_temp_dir.load();
  if (dir >= 0) {
    ::unlinkat(dir, g_temp_name, 0);
  }
  (void)!::write(STDERR_FILENO, g_interrupted_line, g_interrupted_size);
  ::_exit(signal_exit_status(signum));
}

// Blocks the cleanup signals for its lifetime, so a temporary file and its registration
// appear (and go) together.
class BlockCleanupSignals {
public:
  BlockCleanupSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signum : k_cleanup_signals) {
      sigaddset(&set, signum);
    }
    pthread_sigmask(SIG_BLOCK, &set, &m_old);
  }
  ~BlockCleanupSignals() { pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }

private:
  sigset_t m_old;
};

std::string random_suffix() {
  static constexpr char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out.push_back(k_chars[engine() % (sizeof(k_chars) - 1)]);
  }
  return out;
}

} // namespace

AtomicFile::~AtomicFile() { discard(); }

Result<void> AtomicFile::open(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".") : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    return sys_failure("create", path, errno);
  }
  return open_in(dir_fd.get(), base, path);
}

Result<void> AtomicFile::open_in(int dir_fd, const std::string& name, const std::string& shown) {
  discard();
  m_name = name;
  m_shown = shown;
  BlockCleanupSignals blocked;
  Fd dup(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) {
    return sys_failure("create", shown, errno);
  }
  m_existing.reset();
  if (struct stat st{}; ::fstatat(dup.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
    m_existing = st;
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = k_temp_prefix + random_suffix();
    Fd fd(::openat(dup.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno == EEXIST) {
      continue;
    }
    if (!fd) {
      return sys_failure("create", shown, errno);
    }
    m_fd = std::move(fd);
    m_dir_fd = std::move(dup);
    m_temp = temp;
    std::memcpy(g_temp_name, temp.c_str(), temp.size() + 1);
    g_temp_dir.store(m_dir_fd.get());
    return {};
  }
  return fail(fmt::format("create {}: no free temporary name", shown), EEXIST);
}

Result<void> AtomicFile::write(std::string_view data) { return write_all(m_fd.get(), data, m_shown); }

Result<void> AtomicFile::commit(mode_t mode, bool replace) {
  if (::fchmod(m_fd.get(), mode) != 0) {
    int saved = errno;
    discard();
    return sys_failure("chmod", m_shown, saved);
  }
  // Closed by hand, since a failed close is a failed write (NFS reports errors there).
  if (::close(m_fd.release()) != 0) {
    int saved = errno;
    discard();
    return sys_failure("write", m_shown, saved);
  }
  int rc = 0;
  if (replace) {
    rc = ::renameat(m_dir_fd.get(), m_temp.c_str(), m_dir_fd.get(), m_name.c_str());
  } else {
    rc = ::renameat2(m_dir_fd.get(), m_temp.c_str(), m_dir_fd.get(), m_name.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
      // A file system without RENAME_NOREPLACE: a hard link also refuses an existing name.
      rc = ::linkat(m_dir_fd.get(), m_temp.c_str(), m_dir_fd.get(), m_name.c_str(), 0);
    }
  }
  if (rc != 0) {
    int saved = errno;
    discard();
    if (saved == EEXIST) {
      return fail(fmt::format("{} exists; use --force to replace it", m_shown), saved);
    }
    return sys_failure("rename into", m_shown, saved);
  }
  // After linkat the temporary name is still there; after a rename this finds nothing.
  discard();
  return {};
}

mode_t AtomicFile::replacement_mode(mode_t fallback) {
  if (!m_existing || !m_fd) {
    return fallback;
  }
  mode_t mode = m_existing->st_mode & 0777;
  // Only root may give a file away, but a user may set any group of their own; a failure here
  // is expected and handled just below.
  if (::fchown(m_fd.get(), m_existing->st_uid, m_existing->st_gid) != 0) {
    (void)!::fchown(m_fd.get(), static_cast<uid_t>(-1), m_existing->st_gid);
  }
  struct stat now {};
  if (::fstat(m_fd.get(), &now) != 0 || now.st_gid != m_existing->st_gid) {
    mode &= ~static_cast<mode_t>(070);
  }
  return mode;
}

void AtomicFile::discard() {
  BlockCleanupSignals blocked;
  m_fd.reset();
  if (m_dir_fd) {
    if (!m_temp.empty()) {
      ::unlinkat(m_dir_fd.get(), m_temp.c_str(), 0);
    }
    if (g_temp_dir.load() == m_dir_fd.get()) {
      g_temp_dir.store(-1);
    }
    m_dir_fd.reset();
  }
  m_temp.clear();
}

RemoveTemporaryOnSignal::RemoveTemporaryOnSignal() {
  if (g_installed++ > 0) {
    return;
  }
  auto line = fmt::format("netlab: {}: interrupted\n", log::command());
  g_interrupted_size = std::min(line.size(), sizeof(g_interrupted_line));
  std::memcpy(g_interrupted_line, line.data(), g_interrupted_size);
  struct sigaction action {};
  action.sa_handler = remove_temporary_and_exit;
  sigemptyset(&action.sa_mask);
  for (int signum : k_cleanup_signals) {
    sigaddset(&action.sa_mask, signum);
  }
  for (std::size_t i = 0; i < std::size(k_cleanup_signals); ++i) {
    ::sigaction(k_cleanup_signals[i], &action, &g_previous[i]);
  }
}

RemoveTemporaryOnSignal::~RemoveTemporaryOnSignal() {
  if (--g_installed > 0) {
    return;
  }
  for (std::size_t i = 0; i < std::size(k_cleanup_signals); ++i) {
    ::sigaction(k_cleanup_signals[i], &g_previous[i], nullptr);
  }
}

mode_t default_file_mode() { return received_file_mode(0666); }

mode_t received_file_mode(mode_t mode) {
  // umask can only be read by setting it; put it straight back.
  mode_t mask = ::umask(022);
  ::umask(mask);
  return mode & 0777 & ~mask;
}

} // namespace netlab::framefile
