// Unit tests for core/loop/spawn: what a child gets (descriptors, signals, group, environment,
// working directory), how a start fails (126 against 127), and that every child is reaped by
// its own loop. Each test ends by requiring that the loop closed with nothing left open.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <thread>

#include "core/loop/spawn.hpp"
#include "core/loop/timer.hpp"
#include "tests/core/loop_teardown.hpp"

using namespace netlab;
using netlab::testing::require_clean_close;

namespace {

struct Ran {
  std::string output;
  ExitStatus status;
  int exits = 0;
};

// Runs `options` with stdout on a pipe until the loop has nothing left to do; `then` runs when
// the child has exited.
Ran run(loop::Loop& loop, loop::SpawnConfig options, std::function<void()> then = {}) {
  Ran ran;
  auto out = loop::Pipe::create(loop);
  options.stdout_ = loop::Stdio::piped(out);
  auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) {
    ran.status = s;
    ++ran.exits;
    if (then) {
      then();
    }
  });
  REQUIRE(spawned.ok());
  out->on_data([&](std::string_view data) { ran.output.append(data); });
  out->on_end([&] { out->close(); });
  REQUIRE(out->read_start() == 0);
  loop.run();
  return ran;
}

// A scratch folder under the build tree's temp dir, removed at the end of the test.
struct Scratch {
  std::filesystem::path path;
  Scratch() {
    std::string pattern = (std::filesystem::temp_directory_path() / "netlab-spawn-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~Scratch() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text, int mode) {
    auto file = path / name;
    std::ofstream(file) << text;
    ::chmod(file.c_str(), static_cast<mode_t>(mode));
    return file.string();
  }
};

} // namespace

TEST_CASE("loop::Process: a child holds only descriptors 0, 1 and 2", "[loop][spawn]") {
  loop::Loop loop;
  // Another child's pipes are open in the parent meanwhile; none of them may leak.
  auto other_out = loop::Pipe::create(loop);
  auto other_in = loop::Pipe::create(loop);
  loop::SpawnConfig other;
  other.argv = {"cat"};
  other.stdin_ = loop::Stdio::piped(other_in);
  other.stdout_ = loop::Stdio::piped(other_out);
  auto cat = loop::Process::spawn(loop, other, [](ExitStatus) {});
  REQUIRE(cat.ok());
  other_out->on_end([&] { other_out->close(); });
  REQUIRE(other_out->read_start() == 0);

  loop::SpawnConfig options;
  // dash opens nothing of its own for -c; ls lists the shell's descriptors, not its own.
  options.argv = {"sh", "-c", "ls /proc/$$/fd"};
  auto ran = run(loop, options, [&] { other_in->close(); });
  // Beyond 0-2 the child may hold only what this test process inherited without close-on-exec
  // from whoever started it (as xargs passes such descriptors on); nothing netlab opened.
  std::string expected = "0\n1\n2\n";
  std::vector<std::string> inherited;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    int flags = ::fcntl(fd, F_GETFD);
    if (fd > 2 && flags >= 0 && (flags & FD_CLOEXEC) == 0) {
      inherited.push_back(std::to_string(fd));
    }
  }
  std::vector<std::string> listed;
  for (std::size_t start = 0; start < ran.output.size();) {
    auto end = ran.output.find('\n', start);
    listed.push_back(ran.output.substr(start, end - start));
    start = end + 1;
  }
  std::sort(inherited.begin(), inherited.end());
  std::vector<std::string> wanted{"0", "1", "2"};
  wanted.insert(wanted.end(), inherited.begin(), inherited.end());
  std::sort(wanted.begin(), wanted.end());
  std::sort(listed.begin(), listed.end());
  CHECK(listed == wanted);
  CHECK(ran.status.code == 0);
  require_clean_close(loop);
}

TEST_CASE("loop::Process: signals unblocked and at their defaults, a new group in our session", "[loop][spawn]") {
  loop::Loop loop;
  // netlab ignores SIGPIPE and may block signals in a thread; a child must inherit neither.
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigset_t old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  loop::SpawnConfig options;
  options.argv = {"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status; cut -d' ' -f5,6 /proc/self/stat"};
  auto ran = run(loop, options);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  INFO(ran.output);
  CHECK(ran.output.find("SigBlk:\t0000000000000000\n") != std::string::npos);
  // glibc's posix_spawn leaves its two internal signals (32 and 33, below SIGRTMIN) ignored in
  // the child, and exec keeps that; every other signal must be at its default.
  auto ign = ran.output.find("SigIgn:\t");
  REQUIRE(ign != std::string::npos);
  auto ignored = std::stoull(ran.output.substr(ign + 8, 16), nullptr, 16);
  CHECK((ignored & ~0x180000000ULL) == 0);
  // cut is the shell's child: same process group as the shell, which leads it; our session.
  auto last = ran.output.substr(ran.output.rfind("\n", ran.output.size() - 2) + 1);
  auto space = last.find(' ');
  REQUIRE(space != std::string::npos);
  int pgid = std::atoi(last.c_str());
  int sid = std::atoi(last.c_str() + space + 1);
  CHECK(pgid != ::getpgrp());
  CHECK(sid == ::getsid(0));
  require_clean_close(loop);
}

TEST_CASE("loop::Process: the child leads its process group", "[loop][spawn]") {
  loop::Loop loop;
  auto in = loop::Pipe::create(loop);
  loop::SpawnConfig options;
  options.argv = {"cat"};
  options.stdin_ = loop::Stdio::piped(in);
  ExitStatus status;
  auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) { status = s; });
  REQUIRE(spawned.ok());
  int pid = (*spawned)->pid();
  CHECK(::getpgid(pid) == pid);
  CHECK(::getsid(pid) == ::getsid(0));
  in->close();
  loop.run();
  CHECK(status.code == 0);
  require_clean_close(loop);
}

TEST_CASE("loop::Process: not found is ENOENT (127), found but not executable is EACCES (126)", "[loop][spawn]") {
  loop::Loop loop;
  Scratch scratch;
  scratch.write("plain", "#!/bin/sh\necho no\n", 0644);
  std::filesystem::create_directory(scratch.path / "adir");
  loop::SpawnConfig options;
  options.env = std::vector<std::string>{"PATH=" + scratch.path.string()};

  options.argv = {"netlab-no-such-program"};
  auto missing = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.code() == UV_ENOENT);
  CHECK_THAT(missing.error(), Catch::Equals("spawn netlab-no-such-program: no such file or directory"));

  options.argv = {"plain"};
  auto plain = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.code() == UV_EACCES);

  // A folder on the PATH is not a program either.
  options.argv = {"adir"};
  auto folder = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(folder.ok());
  CHECK(folder.code() == UV_EACCES);

  // With a slash there is no search: the exec itself fails.
  options.argv = {(scratch.path / "plain").string()};
  auto direct = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(direct.ok());
  CHECK(direct.code() == UV_EACCES);
  options.argv = {(scratch.path / "nothing").string()};
  auto direct_missing = loop::Process::spawn(loop, options, [](ExitStatus) {});
  REQUIRE_FALSE(direct_missing.ok());
  CHECK(direct_missing.code() == UV_ENOENT);
  require_clean_close(loop);
}

TEST_CASE("loop::Process: PATH is searched in the child's environment, as execvp did", "[loop][spawn]") {
  loop::Loop loop;
  Scratch scratch;
  std::filesystem::create_directory(scratch.path / "first");
  std::filesystem::create_directory(scratch.path / "second");
  std::filesystem::create_directory(scratch.path / "rel");
  // Not executable in the first folder: the search goes on, as execvp's does.
  scratch.write("first/tool", "#!/bin/sh\necho first\n", 0644);
  scratch.write("second/tool", "#!/bin/sh\necho second \"$@\"\n", 0755);
  // No #! line: execvp runs such a file with /bin/sh, and so do we.
  scratch.write("second/bare", "echo bare \"$1\"\n", 0755);
  scratch.write("rel/here", "#!/bin/sh\necho here\n", 0755);
  loop::SpawnConfig options;
  options.env = std::vector<std::string>{"PATH=" + (scratch.path / "first").string() + ":" +
                                         (scratch.path / "second").string() + ":rel"};
  options.argv = {"tool", "x"};
  CHECK(run(loop, options).output == "second x\n");
  options.argv = {"bare", "y"};
  CHECK(run(loop, options).output == "bare y\n");
  // A relative PATH entry is taken from the child's working directory.
  options.cwd = scratch.path.string();
  options.argv = {"here"};
  auto ran = run(loop, options);
  CHECK(ran.output == "here\n");
  options.argv = {"sh", "-c", "pwd"};
  options.env->push_back("PATH=/usr/bin:/bin");
  options.env->erase(options.env->begin());
  CHECK(run(loop, options).output == scratch.path.string() + "\n");
  require_clean_close(loop);
}

TEST_CASE("loop::Process: exit codes and signals as waitpid reports them", "[loop][spawn]") {
  loop::Loop loop;
  loop::SpawnConfig options;
  options.argv = {"sh", "-c", "exit 42"};
  auto ran = run(loop, options);
  CHECK(ran.exits == 1);
  CHECK(ran.status.code == 42);
  CHECK(ran.status.term_signal() == 0);
  options.argv = {"sh", "-c", "kill -TERM $$"};
  ran = run(loop, options);
  CHECK(ran.status.code == 0);
  CHECK(ran.status.term_signal() == SIGTERM);
  require_clean_close(loop);
}

namespace {

// The state letter of /proc/PID/stat ('T': stopped), or 0 once it is gone.
char proc_state(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? 0 : text[paren + 2];
}

} // namespace

TEST_CASE("loop::Process: a child stopped by SIGTTIN or SIGTTOU is killed and reported so, a SIGSTOP is left alone",
          "[loop][spawn]") {
  // A job is a background group in our session: the kernel stops it with SIGTTIN/SIGTTOU when
  // it uses the terminal, and nothing would ever continue it. `kill -TTIN $$` stops it the same
  // way without a terminal.
  loop::Loop loop;
  for (int signum : {SIGTTIN, SIGTTOU}) {
    loop::SpawnConfig options;
    options.argv = {"sh", "-c", "kill -" + loop::signal_name(signum) + " $$; echo survived"};
    auto ran = run(loop, options);
    CHECK(ran.exits == 1);
    CHECK(ran.output.empty());
    CHECK(ran.status.term_signal() == signum);
    CHECK(ran.status.terminal_stop() == signum);
  }

  // A user's SIGSTOP: still stopped after the watcher has handled a later SIGCHLD (another
  // child's exit, for which it asks about every child), and it runs on after SIGCONT.
  Ran stopped;
  auto out = loop::Pipe::create(loop);
  loop::SpawnConfig options;
  options.argv = {"sh", "-c", "kill -STOP $$; echo resumed"};
  options.stdout_ = loop::Stdio::piped(out);
  auto stopper = loop::Process::spawn(loop, options, [&](ExitStatus s) {
    stopped.status = s;
    ++stopped.exits;
  });
  REQUIRE(stopper.ok());
  out->on_data([&](std::string_view data) { stopped.output.append(data); });
  out->on_end([&] { out->close(); });
  REQUIRE(out->read_start() == 0);
  int pid = (*stopper)->pid();
  char state_after_other_exit = 0;
  std::shared_ptr<loop::Process> other;
  auto poll = loop::Timer::create(loop);
  poll->start(1, 1, [&] {
    if (proc_state(pid) != 'T') {
      return;
    }
    poll->close();
    loop::SpawnConfig quick;
    quick.argv = {"true"};
    auto spawned = loop::Process::spawn(loop, quick, [&](ExitStatus) {
      state_after_other_exit = proc_state(pid);
      ::kill(pid, SIGCONT);
    });
    REQUIRE(spawned.ok());
    other = *spawned;
  });
  loop.run();
  CHECK(state_after_other_exit == 'T');
  CHECK(stopped.exits == 1);
  CHECK(stopped.status.code == 0);
  CHECK(stopped.status.term_signal() == 0);
  CHECK(stopped.status.terminal_stop() == 0);
  CHECK(stopped.output == "resumed\n");
  require_clean_close(loop);
}

TEST_CASE("loop::Process: many children at once are each reaped exactly once", "[loop][spawn]") {
  loop::Loop loop;
  int exits = 0;
  std::int64_t codes = 0;
  for (int i = 0; i < 64; ++i) {
    loop::SpawnConfig options;
    options.argv = {"sh", "-c", "exit " + std::to_string(i % 7)};
    auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) {
      ++exits;
      codes += s.code;
    });
    REQUIRE(spawned.ok());
  }
  // Nothing but the children keeps the loop running: it returns once all are reaped.
  loop.run();
  CHECK(exits == 64);
  std::int64_t expected = 0;
  for (int i = 0; i < 64; ++i) {
    expected += i % 7;
  }
  CHECK(codes == expected);
  require_clean_close(loop);
}

TEST_CASE("loop::Process: loops on two threads reap only their own children", "[loop][spawn]") {
  std::atomic<int> total{0};
  auto worker = [&](int count) {
    loop::Loop loop;
    int exits = 0;
    for (int i = 0; i < count; ++i) {
      loop::SpawnConfig options;
      options.argv = {"true"};
      auto spawned = loop::Process::spawn(loop, options, [&](ExitStatus s) { exits += s.code == 0 ? 1 : 0; });
      REQUIRE(spawned.ok());
      loop.run(UV_RUN_NOWAIT);
    }
    loop.run();
    total += exits;
    require_clean_close(loop);
  };
  std::thread a(worker, 40);
  std::thread b(worker, 40);
  a.join();
  b.join();
  CHECK(total == 80);
}

TEST_CASE("loop::Process: a loop closed under a running child drops its callback", "[loop][spawn]") {
  int pid = 0;
  {
    loop::Loop loop;
    auto in = loop::Pipe::create(loop);
    loop::SpawnConfig options;
    options.argv = {"cat"};
    options.stdin_ = loop::Stdio::piped(in);
    auto holder = std::make_shared<int>(1);
    auto spawned = loop::Process::spawn(loop, options, [holder](ExitStatus) {});
    REQUIRE(spawned.ok());
    pid = (*spawned)->pid();
    CHECK(holder.use_count() == 2);
    // Closing the loop closes cat's stdin too; the callback (and what it holds) is gone.
    require_clean_close(loop);
    CHECK(holder.use_count() == 1);
    CHECK((*spawned)->kill_group(SIGKILL) == 0);
  }
  int status = 0;
  CHECK(::waitpid(pid, &status, 0) == pid);
}

TEST_CASE("loop::Process: spawning keeps no descriptor of ours open once the child is gone", "[loop][spawn]") {
  // A server's descriptor count must return to idle after its commands (test_fault_injection):
  // nothing may be cached per process, /dev/null for ignored descriptors included.
  auto count = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator());
  };
  {
    // libuv makes its process-wide signal lock pipe on first use of any signal watcher; a
    // server has one long before it runs a command.
    loop::Loop loop;
    loop::Signal::create(loop);
    require_clean_close(loop);
  }
  auto before = count();
  {
    loop::Loop loop;
    loop::SpawnConfig options;
    options.argv = {"true"};
    for (int i = 0; i < 3; ++i) {
      auto spawned = loop::Process::spawn(loop, options, [](ExitStatus) {});
      REQUIRE(spawned.ok());
    }
    loop.run();
    require_clean_close(loop);
  }
  CHECK(count() == before);
}
