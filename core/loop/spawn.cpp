// Spawning with posix_spawn and reaping from one SIGCHLD watcher per loop.
#include "core/loop/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string_view>
#include <optional>
#include <unordered_map>
#include <variant>

#include <fmt/format.h>

#include "core/loop/reaper.hpp"
#include "core/loop/timer.hpp"
#include "core/util/sys_error.hpp"

extern char** environ;

namespace netlab::loop {

// The children one loop spawned, reaped when SIGCHLD arrives. Its signal handle is referenced
// only while children remain, so a loop with nothing running can still finish.
class ChildWatch {
public:
  // The watcher of `loop`, started on first use. Loop thread only.
  static std::shared_ptr<ChildWatch> of(Loop& loop) {
    std::lock_guard lock(registry_mutex());
    auto& slot = registry()[loop.raw()];
    if (!slot) {
      auto watch = std::make_shared<ChildWatch>();
      watch->m_signal = Signal::create(loop);
      watch->m_signal->unref();
      std::weak_ptr<ChildWatch> weak = watch;
      watch->m_signal->start(SIGCHLD, [weak](int) {
        if (auto self = weak.lock()) {
          self->reap();
        }
      });
      uv_loop_t* raw = loop.raw();
      // Closed with the loop (Loop::close_all): forget it, and drop the children's callbacks,
      // which may hold their owners. A child still running then stays unreaped, as a closed
      // libuv process handle would leave it.
      watch->m_signal->on_close([raw, weak] {
        auto self = weak.lock();
        if (!self) {
          return;
        }
        {
          std::lock_guard held(registry_mutex());
          auto it = registry().find(raw);
          if (it != registry().end() && it->second == self) {
            registry().erase(it);
          }
        }
        for (auto& [pid, child] : self->m_children) {
          child->close();
        }
        self->m_children.clear();
      });
      slot = std::move(watch);
    }
    return slot;
  }

  void add(std::shared_ptr<Process> child) {
    m_children.emplace(child->pid(), std::move(child));
    m_signal->ref();
  }

private:
  static std::mutex& registry_mutex() {
    static std::mutex mutex;
    return mutex;
  }
  static std::unordered_map<uv_loop_t*, std::shared_ptr<ChildWatch>>& registry() {
    static std::unordered_map<uv_loop_t*, std::shared_ptr<ChildWatch>> map;
    return map;
  }

  // One SIGCHLD may stand for several exits: ask about every child of this loop.
  void reap() {
    std::vector<std::pair<std::shared_ptr<Process>, int>> done;
    for (auto it = m_children.begin(); it != m_children.end();) {
      int status = 0;
      // WUNTRACED: a child stopped by the terminal (below) must be seen, or it waits forever.
      pid_t got = ::waitpid(it->first, &status, WNOHANG | WUNTRACED);
      if (got == it->first && WIFSTOPPED(status)) {
        // SIGTTIN/SIGTTOU: the child, a background group in netlab's session, read the
        // terminal (or wrote to it under tostop, or changed its modes, as a password prompt
        // does). Nobody will ever bring it to the foreground: end it, and reap it when the
        // SIGKILL lands. Other stops (SIGSTOP, SIGTSTP from a user) are left alone.
        int stop = WSTOPSIG(status);
        if (stop == SIGTTIN || stop == SIGTTOU) {
          it->second->stopped_by_terminal(stop);
        }
        ++it;
        continue;
      }
      if (got == it->first || (got < 0 && errno == ECHILD)) {
        // ECHILD: someone else waited for it (never netlab); report it as killed rather than
        // hang the job.
        if (got < 0) {
          status = SIGKILL;
        }
        spawn_registry::remove(it->first);
        done.emplace_back(std::move(it->second), status);
        it = m_children.erase(it);
      } else {
        ++it;
      }
    }
    if (m_children.empty()) {
      m_signal->unref();
    }
    // Callbacks last: they may spawn the next child, which changes m_children.
    for (auto& [child, status] : done) {
      child->reaped(status);
    }
  }

  std::shared_ptr<Signal> m_signal;
  std::unordered_map<int, std::shared_ptr<Process>> m_children;
};

namespace {

// Moves `fd` to 3 or above, so that it can never be one of the descriptors the file actions
// overwrite first; returns the descriptor to use, or -1.
int above_stdio(int fd) {
  if (fd < 0 || fd >= 3) {
    return fd;
  }
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

// Descriptors of one spawn: the child's ends and ours, closed on every path.
struct StdioFds {
  int child[3] = {-1, -1, -1};
  int parent[3] = {-1, -1, -1};
  bool owned_child[3] = {false, false, false};

  ~StdioFds() {
    for (int i = 0; i < 3; ++i) {
      close_child(i);
      if (parent[i] >= 0) {
        ::close(parent[i]);
      }
    }
  }
  void close_child(int i) {
    if (owned_child[i] && child[i] >= 0) {
      ::close(child[i]);
    }
    child[i] = -1;
    owned_child[i] = false;
  }

  // 0 or an errno.
  int set(int i, const Stdio& stdio) {
    switch (stdio.kind) {
    case Stdio::Kind::ignore:
      // Opened by the child (a file action): nothing of ours stays open for it.
      return 0;
    case Stdio::Kind::inherit:
      child[i] = stdio.fd;
      return 0;
    case Stdio::Kind::pipe: {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) {
        return errno;
      }
      if (stdio.pipe_size > 0) {
        (void)::fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(std::min<std::size_t>(stdio.pipe_size, 1 << 30)));
      }
      bool child_reads = i == 0;
      child[i] = above_stdio(child_reads ? fds[0] : fds[1]);
      owned_child[i] = child[i] >= 0;
      parent[i] = child_reads ? fds[1] : fds[0];
      return child[i] >= 0 ? 0 : errno;
    }
    }
    return EINVAL;
  }
};

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// execvp's search, run in the parent over the child's PATH. Relative PATH entries are taken
// from the child's working directory, which the file actions enter before the exec. Returns
// the path to execute (as the child sees it), or an errno: ENOENT when nothing was found,
// EACCES when something was found but none of it is executable.
std::variant<std::string, int> find_program(const std::string& name, const char* path_value,
                                            const std::optional<std::string>& cwd) {
  if (name.empty()) {
    return ENOENT;
  }
  if (name.find('/') != std::string::npos) {
    return name;
  }
  // glibc's execvp default when PATH is unset.
  std::string_view path = path_value != nullptr ? path_value : "/bin:/usr/bin";
  // pool-run starts the same program thousands of times: remember the last answer, as a
  // shell's command hash does, for as long as that file is still executable. (Like the hash,
  // it does not see a program of that name appear earlier in PATH meanwhile.)
  thread_local struct {
    std::string key;
    std::string found;
    std::string checked;
  } last;
  std::string key = name;
  key += '\0';
  key += path;
  key += '\0';
  key += cwd ? *cwd : std::string();
  if (key == last.key && ::access(last.checked.c_str(), X_OK) == 0) {
    return last.found;
  }
  bool denied = false;
  std::string candidate;
  std::string probe;
  while (true) {
    auto colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    candidate.assign(dir.empty() ? "." : dir);
    candidate += '/';
    candidate += name;
    const std::string* checked = &candidate;
    if (cwd && candidate[0] != '/') {
      probe = *cwd + "/" + candidate;
      checked = &probe;
    }
    if (::access(checked->c_str(), X_OK) == 0) {
      struct stat st {};
      if (::stat(checked->c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        last.key = std::move(key);
        last.found = candidate;
        last.checked = *checked;
        return candidate;
      }
      denied = true;
    } else if (errno == EACCES) {
      denied = true;
    }
    if (colon == std::string_view::npos) {
      break;
    }
    path.remove_prefix(colon + 1);
  }
  return denied ? EACCES : ENOENT;
}

} // namespace

Result<std::shared_ptr<Process>> Process::spawn(Loop& loop, const SpawnConfig& options, ExitCallback on_exit) {
  if (options.argv.empty()) {
    return fail("spawn: empty command");
  }
  auto failure = [&](int err) {
    int code = uv_translate_sys_error(err);
    return uv_failure("spawn", options.argv[0], code);
  };

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 2);
  for (const auto& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  // The environment as pointers into the caller's strings (or ours): nothing is copied.
  constexpr std::string_view tree_key = "NETLAB_TREE=";
  std::string marker = options.tree ? options.tree->env_entry() : std::string();
  std::vector<char*> envp;
  const char* path_value = nullptr;
  auto add_entry = [&](char* entry) {
    std::string_view text(entry);
    // The marker replaces any inherited one: a tree's processes carry exactly one.
    if (options.tree && text.substr(0, tree_key.size()) == tree_key) {
      return;
    }
    if (text.substr(0, 5) == "PATH=") {
      path_value = entry + 5;
    }
    envp.push_back(entry);
  };
  if (options.env) {
    envp.reserve(options.env->size() + 2);
    for (const auto& entry : *options.env) {
      add_entry(const_cast<char*>(entry.c_str()));
    }
  } else {
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      add_entry(*entry);
    }
  }
  if (options.tree) {
    envp.push_back(marker.data());
  }
  envp.push_back(nullptr);

  auto found = find_program(options.file ? *options.file : options.argv[0], path_value, options.cwd);
  if (auto* err = std::get_if<int>(&found)) {
    return failure(*err);
  }
  const std::string& program = std::get<std::string>(found);

  StdioFds fds;
  const Stdio* stdio[3] = {&options.stdin_, &options.stdout_, &options.stderr_};
  for (int i = 0; i < 3; ++i) {
    if (int err = fds.set(i, *stdio[i])) {
      return failure(err);
    }
  }

  SpawnSetup setup;
  for (int i = 0; i < 3; ++i) {
    // dup2 onto 0-2 clears close-on-exec there; every other descriptor of ours has it.
    if (fds.child[i] >= 0) {
      posix_spawn_file_actions_adddup2(&setup.actions, fds.child[i], i);
    } else {
      posix_spawn_file_actions_addopen(&setup.actions, i, "/dev/null", i == 0 ? O_RDONLY : O_RDWR, 0);
    }
  }
  if (options.cwd) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd->c_str());
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&setup.attr, 0);
  }
  posix_spawnattr_setflags(&setup.attr, flags);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&setup.attr, &all);

  auto watch = ChildWatch::of(loop);
  pid_t pid = -1;
  int err = 0;
  {
    // Held from spawn to registration, so a Reaper's scan never takes this child for an orphan.
    auto registry = spawn_registry::lock();
    err = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
    if (err == ENOEXEC) {
      // No #! line: run it with the shell, as execvp does.
      std::vector<char*> shell_argv{const_cast<char*>("/bin/sh"), const_cast<char*>(program.c_str())};
      shell_argv.insert(shell_argv.end(), argv.begin() + 1, argv.end());
      err = ::posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, shell_argv.data(), envp.data());
    }
    if (err == 0) {
      spawn_registry::add(pid, options.tree.get());
    }
  }
  if (err != 0) {
    return failure(err);
  }

  auto process = std::make_shared<Process>(pid, options.own_group, std::move(on_exit));
  watch->add(process);
  for (int i = 0; i < 3; ++i) {
    fds.close_child(i);
    if (fds.parent[i] >= 0 && stdio[i]->pipe->open(fds.parent[i]) == 0) {
      fds.parent[i] = -1;
    }
    // A pipe that could not be opened is closed by `fds`: the child sees EOF or EPIPE, and the
    // caller's read_start fails, as for any broken stream.
  }
  return process;
}

void Process::stopped_by_terminal(int signum) {
  if (m_terminal_stop == 0) {
    m_terminal_stop = signum;
  }
  // SIGKILL ends a stopped process without a SIGCONT.
  kill_group(SIGKILL);
}

void Process::reaped(int wait_status) {
  m_exited = true;
  ExitStatus status;
  if (WIFEXITED(wait_status)) {
    status = ExitStatus::exited(WEXITSTATUS(wait_status));
  } else if (WIFSIGNALED(wait_status)) {
    int signum = WTERMSIG(wait_status);
    // Our SIGKILL after a terminal stop: the cause is the stop.
    status = m_terminal_stop != 0 && signum == SIGKILL ? ExitStatus::stopped_for_terminal(m_terminal_stop)
                                                       : ExitStatus::signaled(signum);
  }
  // Moved out first: the callback often drops the last reference to whatever owns us.
  auto callback = std::move(m_on_exit);
  m_on_exit = nullptr;
  if (callback) {
    callback(status);
  }
}

int Process::kill(int signum) {
  if (m_exited) {
    return UV_ESRCH;
  }
  return ::kill(m_pid, signum) == 0 ? 0 : uv_translate_sys_error(errno);
}

int Process::kill_group(int signum) {
  if (!m_own_group) {
    return kill(signum);
  }
  if (m_pid <= 0) {
    return UV_ESRCH;
  }
  return ::kill(-m_pid, signum) == 0 ? 0 : uv_translate_sys_error(errno);
}

} // namespace netlab::loop
