// The watchdog process: one blocking read of a pipe, then a kill sweep over the shared table. Everything after fork() is
// async-signal-safe system calls on stack or static memory: pool-run may have other threads, and
// one of them could hold the allocator's lock at the moment of the fork.
#include "core/pool/watchdog.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <new>
#include <cstring>

#include <fmt/format.h>

#include "core/loop/reaper.hpp"
#include "core/util/fd.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::pool {

// Lock-free atomics of a plain integer are address-free, so both processes may use them
// through the one shared mapping.
struct Watchdog::Table {
  std::atomic<int> quit{0};
  std::atomic<pid_t> groups[k_max_groups];
};
static_assert(std::atomic<pid_t>::is_always_lock_free, "the table is shared between processes");

namespace {

char g_environ[1 << 16];

// Writes `value` in decimal at `out`; returns the length.
std::size_t put_decimal(char* out, unsigned long value) {
  char digits[24];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = digits[n - 1 - i];
  }
  return n;
}

// Whether /proc/PID/environ holds an entry starting with `marker`.
bool carries(const char* pid_text, const char* marker, std::size_t marker_size) {
  char path[64] = "/proc/";
  std::size_t at = 6;
  std::size_t length = std::strlen(pid_text);
  if (length > 20) {
    return false;
  }
  std::memcpy(path + at, pid_text, length);
  at += length;
  std::memcpy(path + at, "/environ", 9);
  ssize_t got = 0;
  {
    Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return false;
    }
    got = ::read(fd.get(), g_environ, sizeof(g_environ));
  }
  for (ssize_t start = 0; start < got;) {
    const char* entry = g_environ + start;
    std::size_t left = static_cast<std::size_t>(got - start);
    if (left >= marker_size && std::memcmp(entry, marker, marker_size) == 0) {
      return true;
    }
    const void* nul = std::memchr(entry, '\0', left);
    if (nul == nullptr) {
      break;
    }
    start = static_cast<const char*>(nul) - g_environ + 1;
  }
  return false;
}

// SIGKILLs every process whose environment carries `marker`; returns how many.
int kill_marked(const char* marker, std::size_t marker_size) {
  Fd proc(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!proc) {
    return 0;
  }
  int killed = 0;
  alignas(8) char buffer[8192];
  pid_t self = ::getpid();
  while (true) {
    long got = ::syscall(SYS_getdents64, proc.get(), buffer, sizeof(buffer));
    if (got <= 0) {
      break;
    }
    for (long at = 0; at < got;) {
      auto* entry = reinterpret_cast<struct dirent64*>(buffer + at);
      at += entry->d_reclen;
      const char* name = entry->d_name;
      if (name[0] < '1' || name[0] > '9') {
        continue;
      }
      long pid = std::strtol(name, nullptr, 10);
      if (pid == self) {
        continue;
      }
      if (carries(name, marker, marker_size) && ::kill(static_cast<pid_t>(pid), SIGKILL) == 0) {
        ++killed;
      }
    }
  }
  return killed;
}

[[noreturn]] void watchdog_main(int control, pid_t parent, Watchdog::Table* table) {
  ::setsid();
  for (int signum : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::signal(signum, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) {
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
    }
  }
  if (control != 3) {
    ::dup2(control, 3);
  }
  control = 3;
  // Every other descriptor of pool-run's goes: holding a pipe's write end would keep its reader
  // waiting for an end that never comes.
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
    long max = ::sysconf(_SC_OPEN_MAX);
    for (long fd = 4; fd < (max > 0 ? max : 65536); ++fd) {
      ::close(static_cast<int>(fd));
    }
  }
  // pool-run never writes: read returns at end of file, when pool-run's end of the pipe is
  // closed, by pool-run or by the kernel at its death.
  char byte = 0;
  while (true) {
    ssize_t got = ::read(control, &byte, 1);
    if (got == 0 || (got < 0 && errno != EINTR)) {
      break;
    }
  }
  if (table->quit.load(std::memory_order_acquire) != 0) {
    ::_exit(0);
  }
  // pool-run is gone.
  for (auto& slot : table->groups) {
    pid_t pgid = slot.load(std::memory_order_acquire);
    if (pgid > 0) {
      ::kill(-pgid, SIGKILL);
    }
  }
  char marker[48] = "NETLAB_TREE=";
  std::size_t marker_size = 12;
  marker_size += put_decimal(marker + marker_size, static_cast<unsigned long>(parent));
  marker[marker_size++] = '.';
  // A process forking while a sweep runs can be missed by it: sweep until one finds nothing.
  for (int pass = 0; pass < 10 && kill_marked(marker, marker_size) > 0; ++pass) {
  }
  ::_exit(0);
}

} // namespace

Result<std::unique_ptr<Watchdog>> Watchdog::start() {
  void* memory = ::mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return fail(sys_message("watchdog table", "", errno));
  }
  // Zero-filled by the kernel, which is every slot empty and quit unset.
  auto* table = new (memory) Table;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    int saved = errno;
    ::munmap(memory, sizeof(Table));
    return fail(sys_message("watchdog pipe", "", saved));
  }
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);
  pid_t parent = ::getpid();
  pid_t pid = 0;
  {
    // Registered as a child we spawned, so the process-tree reaper leaves it alone.
    auto registry = loop::spawn_registry::lock();
    pid = ::fork();
    if (pid == 0) {
      write_end.reset();
      watchdog_main(read_end.get(), parent, table);
    }
    if (pid > 0) {
      loop::spawn_registry::add(pid, nullptr);
    }
  }
  int saved = errno;
  read_end.reset();
  if (pid < 0) {
    ::munmap(memory, sizeof(Table));
    return fail(sys_message("fork watchdog", "", saved));
  }
  return std::make_unique<Watchdog>(table, std::move(write_end), pid);
}

Watchdog::Watchdog(Table* table, Fd fd, pid_t pid) : m_table(table), m_fd(std::move(fd)), m_pid(pid) {
  m_free.reserve(k_max_groups);
  for (std::size_t slot = k_max_groups; slot > 0; --slot) {
    m_free.push_back(slot - 1);
  }
}

Watchdog::~Watchdog() {
  m_table->quit.store(1, std::memory_order_release);
  // The watchdog also ends at the pipe's end: close it before waiting.
  m_fd.reset();
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  loop::spawn_registry::remove(m_pid);
  ::munmap(m_table, sizeof(Table));
}

void Watchdog::watch(pid_t pgid) {
  if (pgid <= 0 || m_free.empty() || m_slots.count(pgid) != 0) {
    return;
  }
  std::size_t slot = m_free.back();
  m_free.pop_back();
  m_slots.emplace(pgid, slot);
  m_table->groups[slot].store(pgid, std::memory_order_release);
}

void Watchdog::forget(pid_t pgid) {
  auto it = m_slots.find(pgid);
  if (it == m_slots.end()) {
    return;
  }
  m_table->groups[it->second].store(0, std::memory_order_release);
  m_free.push_back(it->second);
  m_slots.erase(it);
}

} // namespace netlab::pool
