// Process trees through /proc. All state is process-wide and guarded by one mutex; a scan is
// rooted at our own pid and reads only our subtree when the kernel offers
// /proc/PID/task/TID/children, the whole of /proc otherwise.
#include "core/loop/reaper.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::loop {

namespace {

constexpr std::string_view k_env_key = "NETLAB_TREE=";
// With a 1 ms pause after each pass that killed something: at most about 0.1 s per call.
constexpr int k_kill_passes = 100;
constexpr std::uint64_t k_soon_ms = 20;
constexpr std::uint64_t k_periodic_ms = 500;
// Environments are bounded by the kernel's argument limit; a marker past this is not looked for.
constexpr std::size_t k_max_environ = 8u << 20;

// Who a live descendant belongs to: a tree id (> 0), or one of these.
constexpr std::int64_t k_unowned = 0;
constexpr std::int64_t k_foreign = -1;   // a loop::Process spawned without a tree, and its subtree
constexpr std::int64_t k_undecided = -2; // an orphan whose environment could not be read yet
// How long an orphan's environment may stay unreadable or empty before it counts as unmarked.
constexpr std::uint64_t k_undecided_ns = 20'000'000;

struct ProcStat {
  int ppid = 0;
  char state = '?';
  std::uint64_t start = 0; // clock ticks after boot: with the pid, names one process
};

// Reads a small /proc file whole; false if the process is gone or the file is unreadable.
bool read_small(const std::string& path, std::string& out, std::size_t cap) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buffer[4096];
  while (out.size() < cap) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

bool read_stat(int pid, ProcStat& stat) {
  std::string text;
  if (!read_small(fmt::format("/proc/{}/stat", pid), text, 4096)) {
    return false;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) {
    return false;
  }
  const char* p = text.c_str() + close + 1;
  // Fields 3 (state), 4 (ppid), ..., 22 (starttime).
  for (int field = 3; field <= 22; ++field) {
    while (*p == ' ') {
      ++p;
    }
    if (*p == '\0') {
      return false;
    }
    if (field == 3) {
      stat.state = *p;
    } else if (field == 4) {
      stat.ppid = static_cast<int>(std::strtol(p, nullptr, 10));
    } else if (field == 22) {
      stat.start = std::strtoull(p, nullptr, 10);
    }
    while (*p != ' ' && *p != '\0') {
      ++p;
    }
  }
  return true;
}

std::vector<int> numeric_entries(const std::string& path) {
  std::vector<int> out;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return out;
  }
  while (auto* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (*name < '0' || *name > '9') {
      continue;
    }
    out.push_back(static_cast<int>(std::strtol(name, nullptr, 10)));
  }
  ::closedir(dir);
  return out;
}

enum class Marked { yes, no, unknown };

// Looks for NETLAB_TREE in a process's initial environment. An empty or unreadable one is
// `unknown`: a process in the middle of execve shows an empty environment for a moment.
Marked marker_of(int pid, std::string& marker) {
  std::string environ_text;
  if (!read_small(fmt::format("/proc/{}/environ", pid), environ_text, k_max_environ) || environ_text.empty()) {
    return Marked::unknown;
  }
  std::string_view rest(environ_text);
  while (!rest.empty()) {
    auto end = rest.find('\0');
    auto entry = rest.substr(0, end);
    if (entry.substr(0, k_env_key.size()) == k_env_key) {
      marker = std::string(entry.substr(k_env_key.size()));
      return Marked::yes;
    }
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + 1);
  }
  return Marked::no;
}

// A killed process needs the CPU once to die; without a pause, passes would only find it again.
void pause_after_kill() {
  struct timespec pause {
    0, 1'000'000
  };
  ::nanosleep(&pause, nullptr);
}

} // namespace

struct ReaperState {
  std::mutex mutex;
  // Children loop::Process spawned and their loop has not reaped yet: pid -> tree id (0: none).
  std::unordered_map<int, std::int64_t> spawned;
  std::unordered_map<std::string, std::int64_t> markers;
  std::unordered_map<std::int64_t, ProcessTree*> trees;
  // What the last scan attributed each live process to, by (pid, start time).
  std::map<std::pair<int, std::uint64_t>, std::int64_t> seen;
  // Orphans whose environment was empty or unreadable, with when that was first seen.
  std::map<std::pair<int, std::uint64_t>, std::uint64_t> undecided;
  std::int64_t next_id = 1;
  bool subreaper = false;
  // Whether /proc/PID/task/TID/children exists (CONFIG_PROC_CHILDREN); checked once.
  int children_files = -1;

  struct Scan {
    std::unordered_map<std::int64_t, std::vector<int>> members;
    std::vector<int> unowned;
    std::size_t orphans = 0;
    std::size_t undecided = 0;
  };

  static ReaperState& get() {
    static ReaperState state;
    return state;
  }

  std::int64_t id_of(const ProcessTree& tree) {
    auto it = markers.find(tree.m_marker);
    return it == markers.end() ? k_unowned : it->second;
  }

  // Children of `pid`, from the children files of each of its threads.
  static std::vector<int> children_from_files(int pid) {
    std::vector<int> out;
    std::string text;
    for (int tid : numeric_entries(fmt::format("/proc/{}/task", pid))) {
      if (!read_small(fmt::format("/proc/{}/task/{}/children", pid, tid), text, 1u << 20)) {
        continue;
      }
      const char* p = text.c_str();
      while (*p != '\0') {
        char* end = nullptr;
        long value = std::strtol(p, &end, 10);
        if (end == p) {
          break;
        }
        out.push_back(static_cast<int>(value));
        p = end;
      }
    }
    return out;
  }

  // With `mutex` held. Attributes every live descendant of ours, reaps exited orphans and
  // (when `kill_unowned`) kills unowned ones.
  Scan scan(bool kill_unowned) {
    Scan result;
    const int self = ::getpid();
    if (children_files < 0) {
      children_files = ::access(fmt::format("/proc/{}/task/{}/children", self, self).c_str(), R_OK) == 0 ? 1 : 0;
    }
    std::unordered_map<int, ProcStat> stats;
    std::unordered_map<int, std::vector<int>> children;
    if (children_files == 0) {
      for (int pid : numeric_entries("/proc")) {
        ProcStat stat;
        if (read_stat(pid, stat)) {
          stats.emplace(pid, stat);
          children[stat.ppid].push_back(pid);
        }
      }
    }
    auto children_of = [&](int pid) -> std::vector<int> {
      if (children_files == 0) {
        auto it = children.find(pid);
        return it == children.end() ? std::vector<int>{} : it->second;
      }
      std::vector<int> kids;
      for (int kid : children_from_files(pid)) {
        ProcStat stat;
        if (read_stat(kid, stat)) {
          stats.emplace(kid, stat);
          kids.push_back(kid);
        }
      }
      return kids;
    };

    std::map<std::pair<int, std::uint64_t>, std::int64_t> now_seen;
    std::deque<std::pair<int, std::int64_t>> queue;
    std::map<std::pair<int, std::uint64_t>, std::uint64_t> now_undecided;
    const std::uint64_t now = uv_hrtime();
    std::unordered_map<int, bool> direct;
    auto adopt_direct = [&](int pid) {
      if (!direct.emplace(pid, true).second) {
        return;
      }
      const auto& stat = stats[pid];
      bool ours = spawned.count(pid) != 0;
      if (stat.state == 'Z' || stat.state == 'X') {
        if (!ours) {
          // An orphan that has exited: nobody else will ever wait for it.
          ::waitpid(pid, nullptr, WNOHANG);
        }
        return;
      }
      std::int64_t owner = k_unowned;
      if (ours) {
        std::int64_t id = spawned[pid];
        owner = id == 0 ? k_foreign : (trees.count(id) != 0 ? id : k_unowned);
      } else {
        ++result.orphans;
        std::pair<int, std::uint64_t> key{pid, stat.start};
        std::string marker;
        if (auto it = seen.find(key); it != seen.end() && trees.count(it->second) != 0) {
          owner = it->second;
        } else if (auto marked = marker_of(pid, marker); marked == Marked::yes) {
          auto tree = markers.find(marker);
          owner = tree != markers.end() ? tree->second : k_unowned;
        } else if (marked == Marked::unknown) {
          auto first = undecided.emplace(key, now).first->second;
          if (now - first < k_undecided_ns) {
            owner = k_undecided;
            now_undecided.emplace(key, first);
          }
        }
      }
      queue.emplace_back(pid, owner);
    };
    for (int pid : children_of(self)) {
      adopt_direct(pid);
    }
    drain(queue, result, now_seen, stats, children_of);
    // A process re-parented to us while the walk ran was in neither its old parent's list (read
    // after it left) nor ours (read before it came): read ours once more.
    for (int pid : children_of(self)) {
      adopt_direct(pid);
    }
    drain(queue, result, now_seen, stats, children_of);
    seen = std::move(now_seen);
    undecided = std::move(now_undecided);
    if (kill_unowned && subreaper) {
      for (int pid : result.unowned) {
        ::kill(pid, SIGKILL);
      }
    }
    return result;
  }

  template <typename ChildrenOf>
  static void drain(std::deque<std::pair<int, std::int64_t>>& queue, Scan& result,
                    std::map<std::pair<int, std::uint64_t>, std::int64_t>& now_seen,
                    std::unordered_map<int, ProcStat>& stats, ChildrenOf& children_of) {
    while (!queue.empty()) {
      auto [pid, owner] = queue.front();
      queue.pop_front();
      if (owner == k_foreign) {
        continue;
      }
      if (owner == k_undecided) {
        ++result.undecided;
        continue;
      }
      if (owner == k_unowned) {
        result.unowned.push_back(pid);
      } else {
        result.members[owner].push_back(pid);
        now_seen[{pid, stats[pid].start}] = owner;
      }
      for (int kid : children_of(pid)) {
        if (stats[kid].state != 'Z' && stats[kid].state != 'X') {
          queue.emplace_back(kid, owner);
        }
      }
    }
  }

  // With `mutex` held. True when no process of `tree` can be alive, known from one read of our
  // own children: we are the subreaper, so every live descendant of a tree whose root has exited
  // has been re-parented to us (a process is re-parented before its parent becomes a zombie), and
  // shows up as a child we did not spawn. If all our children are roots we spawned for other
  // trees, the full walk of scan() has nothing to find. This keeps a job's end cheap in pool-run.
  bool certainly_empty(const ProcessTree& tree) {
    if (!subreaper) {
      return false;
    }
    const int self = ::getpid();
    if (children_files < 0) {
      children_files = ::access(fmt::format("/proc/{}/task/{}/children", self, self).c_str(), R_OK) == 0 ? 1 : 0;
    }
    if (children_files != 1) {
      return false;
    }
    auto id = id_of(tree);
    for (int pid : children_from_files(self)) {
      auto it = spawned.find(pid);
      if (it == spawned.end() || it->second == id) {
        return false;
      }
    }
    return undecided.empty();
  }

  // `undecided`, if given, gets how many orphans could not be attributed yet.
  std::vector<int> members_of(const ProcessTree& tree, std::size_t* undecided_count = nullptr) {
    auto id = id_of(tree);
    auto scanned = scan(true);
    if (undecided_count != nullptr) {
      *undecided_count = scanned.undecided;
    }
    auto it = scanned.members.find(id);
    return it == scanned.members.end() || id == k_unowned ? std::vector<int>{} : std::move(it->second);
  }

  // The members once no orphan is undecided any more (at most k_undecided_ns and a pass).
  std::vector<int> settled_members_of(const ProcessTree& tree) {
    std::size_t pending = 0;
    auto pids = members_of(tree, &pending);
    for (int pass = 0; pending != 0 && pass < k_kill_passes; ++pass) {
      pause_after_kill();
      pids = members_of(tree, &pending);
    }
    return pids;
  }
};

ProcessTree::ProcessTree(std::string marker) : m_marker(std::move(marker)) {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  auto id = state.next_id++;
  state.markers.emplace(m_marker, id);
  state.trees.emplace(id, this);
}

ProcessTree::~ProcessTree() {
  kill();
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  auto id = state.id_of(*this);
  state.markers.erase(m_marker);
  state.trees.erase(id);
}

std::string ProcessTree::env_entry() const { return std::string(k_env_key) + m_marker; }

std::vector<int> ProcessTree::members() {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  return state.settled_members_of(*this);
}

std::size_t ProcessTree::signal(int signum) {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  auto pids = state.settled_members_of(*this);
  std::size_t sent = 0;
  for (int pid : pids) {
    sent += ::kill(pid, signum) == 0 ? 1 : 0;
  }
  return sent;
}

std::size_t ProcessTree::kill() {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  if (state.certainly_empty(*this)) {
    return 0;
  }
  // A process re-parented while a scan runs can be missed by it (its old parent already gone,
  // its new one not yet recorded), so only two empty scans in a row prove the tree empty.
  int empty_in_row = 0;
  std::size_t alive = 0;
  for (int pass = 0; pass < k_kill_passes; ++pass) {
    std::size_t undecided = 0;
    auto pids = state.members_of(*this, &undecided);
    alive = pids.size();
    if (pids.empty()) {
      // An orphan in the middle of execve may be ours: wait until it can be told.
      if (undecided != 0) {
        empty_in_row = 0;
        pause_after_kill();
      } else if (++empty_in_row == 2) {
        return 0;
      }
      continue;
    }
    empty_in_row = 0;
    for (int pid : pids) {
      ::kill(pid, SIGKILL);
    }
    pause_after_kill();
  }
  return alive;
}

namespace spawn_registry {

std::unique_lock<std::mutex> lock() { return std::unique_lock(ReaperState::get().mutex); }

void add(int pid, ProcessTree* tree) {
  auto& state = ReaperState::get();
  state.spawned[pid] = tree != nullptr ? state.id_of(*tree) : 0;
}

void remove(int pid) {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  state.spawned.erase(pid);
}

} // namespace spawn_registry

Reaper::Reaper(Loop& loop) : m_loop(loop) {}

Reaper::~Reaper() { close(); }

Result<std::shared_ptr<Reaper>> Reaper::start(Loop& loop) {
  auto& state = ReaperState::get();
  {
    std::lock_guard lock(state.mutex);
    if (!state.subreaper) {
      if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        return fail(sys_message("prctl PR_SET_CHILD_SUBREAPER", "", errno));
      }
      state.subreaper = true;
    }
  }
  auto reaper = std::make_shared<Reaper>(loop);
  std::weak_ptr<Reaper> weak = reaper;
  reaper->m_soon = Timer::create(loop);
  reaper->m_soon->unref();
  reaper->m_periodic = Timer::create(loop);
  reaper->m_periodic->unref();
  reaper->m_periodic->start(k_periodic_ms, k_periodic_ms, [weak] {
    if (auto self = weak.lock()) {
      auto& shared = ReaperState::get();
      bool any;
      {
        std::lock_guard lock(shared.mutex);
        any = !shared.trees.empty() || !shared.seen.empty();
      }
      if (any) {
        self->sweep();
      }
    }
  });
  reaper->m_sigchld = Signal::create(loop);
  reaper->m_sigchld->unref();
  reaper->m_sigchld->start(SIGCHLD, [weak](int) {
    if (auto self = weak.lock()) {
      self->schedule_soon();
    }
  });
  return reaper;
}

void Reaper::schedule_soon() {
  if (m_soon_armed || !m_soon || m_soon->is_closing()) {
    return;
  }
  m_soon_armed = true;
  std::weak_ptr<Reaper> weak = weak_from_this();
  m_soon->start(k_soon_ms, 0, [weak] {
    if (auto self = weak.lock()) {
      self->m_soon_armed = false;
      self->sweep();
    }
  });
}

std::shared_ptr<ProcessTree> Reaper::new_tree() {
  std::uint64_t random[2] = {0, 0};
  if (::getrandom(random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    // Unpredictability only keeps one command from posing as another's tree; uniqueness is what
    // matters, and the address and clock give it.
    random[0] = reinterpret_cast<std::uintptr_t>(&random) ^ uv_hrtime();
  }
  return std::make_shared<ProcessTree>(fmt::format("{}.{:016x}{:016x}", ::getpid(), random[0], random[1]));
}

std::size_t Reaper::sweep() {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  return state.scan(true).orphans;
}

std::size_t Reaper::kill_all() {
  auto& state = ReaperState::get();
  std::lock_guard lock(state.mutex);
  int empty_in_row = 0;
  std::size_t alive = 0;
  for (int pass = 0; pass < k_kill_passes; ++pass) {
    auto scanned = state.scan(true);
    std::vector<int> pids = std::move(scanned.unowned);
    for (auto& [id, members] : scanned.members) {
      pids.insert(pids.end(), members.begin(), members.end());
    }
    alive = pids.size() + scanned.undecided;
    if (alive == 0) {
      if (++empty_in_row == 2) {
        return 0;
      }
      continue;
    }
    if (pids.empty()) {
      pause_after_kill();
      continue;
    }
    empty_in_row = 0;
    for (int pid : pids) {
      ::kill(pid, SIGKILL);
    }
    pause_after_kill();
  }
  return alive;
}

void Reaper::close() {
  for (auto* handle : {static_cast<HandleBase*>(m_sigchld.get()), static_cast<HandleBase*>(m_soon.get()),
                       static_cast<HandleBase*>(m_periodic.get())}) {
    if (handle != nullptr) {
      handle->close();
    }
  }
}

} // namespace netlab::loop
