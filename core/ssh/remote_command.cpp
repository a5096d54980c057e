// Exec channels: open, optional pty, stream stdout/stderr, forward stdin, collect the status.
#include "core/ssh/remote_command.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "core/ssh/session.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::ssh {
namespace {

using Clock = std::chrono::steady_clock;

// Restores the terminal however the command ends, so an error never leaves the user's shell raw.
class RawTerminal {
public:
  explicit RawTerminal(int fd) : m_fd(fd) {
    if (::tcgetattr(fd, &m_saved) == 0) {
      struct termios raw = m_saved;
      ::cfmakeraw(&raw);
      m_active = ::tcsetattr(fd, TCSADRAIN, &raw) == 0;
    }
  }
  ~RawTerminal() {
    if (m_active) {
      ::tcsetattr(m_fd, TCSADRAIN, &m_saved);
    }
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

private:
  int m_fd;
  struct termios m_saved {};
  bool m_active = false;
};

// libssh 0.10 has no getter for exit-signal, only this callback.
struct SignalCatcher {
  struct ssh_channel_callbacks_struct callbacks {};
  std::string signal;

  static void on_exit_signal(ssh_session, ssh_channel, const char* name, int, const char*, const char*,
                             void* userdata) {
    static_cast<SignalCatcher*>(userdata)->signal = name != nullptr ? name : "?";
  }
};

Result<void> write_channel(ssh_channel channel, const char* data, std::size_t size) {
  while (size > 0) {
    int n = ssh_channel_write(channel, data, static_cast<uint32_t>(size));
    if (n == SSH_ERROR) {
      return fail(fmt::format("send stdin: {}", last_error(ssh_channel_get_session(channel))));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

constexpr std::pair<const char*, int> k_signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
                                                     {"ILL", SIGILL},   {"ABRT", SIGABRT}, {"FPE", SIGFPE},
                                                     {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE},
                                                     {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
                                                     {"USR2", SIGUSR2}};

// How long a server gets to close the channel after a KILL request before we stop waiting.
constexpr auto k_kill_grace = std::chrono::seconds(2);

} // namespace

int rfc4254_signal_number(const std::string& name) {
  for (const auto& [label, value] : k_signals) {
    if (name == label) {
      return value;
    }
  }
  return 0;
}

const char* rfc4254_signal_name(int number) {
  for (const auto& [label, value] : k_signals) {
    if (number == value) {
      return label;
    }
  }
  return "";
}

ExitStatus channel_ending(int exit_status, const std::string& signal) {
  if (exit_status >= 0) {
    return ExitStatus::exited(exit_status);
  }
  if (int number = rfc4254_signal_number(signal); number != 0) {
    return ExitStatus::signaled(number);
  }
  return ExitStatus::unknown();
}

std::string supervised_command(const std::string& command, Watchdog watchdog) {
  // $1 is the command. The wrapper starts the watchdog in the background and then becomes the
  // command (exec "$SHELL" -c, the login shell sshd names, as ssh would run it), so its status
  // and signal reach sshd unchanged and no shell is left in between to report "Terminated". The
  // watchdog ignores the signals it relays (it is in the same group) and, once the command is
  // over, kills what is left of the group, itself included.
  // control: an asynchronous list's stdin is /dev/null in a shell without job control, so the
  // channel's stdin is kept on fd 3 for the watchdog before anything runs in the background; it
  // reaches EOF when the session ends, whether the command ended or the connection did.
  static constexpr std::string_view k_control =
      "exec 3<&0 </dev/null; (trap '' INT TERM HUP QUIT USR1 USR2; while read -r s; do case $s in "
      "INT|TERM|HUP|QUIT|USR1|USR2) kill -s $s 0;; esac; done; kill -s KILL 0) <&3 >/dev/null 2>&1 & "
      "exec 3<&-; exec \"${SHELL:-/bin/sh}\" -c \"$1\"";
  // parent: $PPID is the sshd session process (the login shell exec'd this one) and $$ becomes
  // the command; once either is gone, nobody can read the command's output or stop it any more.
  static constexpr std::string_view k_parent =
      "p=$PPID c=$$; (trap '' INT TERM HUP QUIT USR1 USR2; while kill -0 $p 2>/dev/null && kill -0 $c 2>/dev/null; "
      "do sleep 1; done; kill -s KILL 0) </dev/null >/dev/null 2>&1 & exec \"${SHELL:-/bin/sh}\" -c \"$1\"";
  if (watchdog == Watchdog::none) {
    return command;
  }
  return fmt::format("exec /bin/sh -c {} netlab-job {}",
                     shell_quote(watchdog == Watchdog::control ? k_control : k_parent), shell_quote(command));
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) {
      out += ' ';
    }
    out += word;
  }
  return out;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

Result<ExecOutcome> run_command(ssh_session session, const ExecRequest& request, const OutputSink& sink) {
  ChannelPtr channel(ssh_channel_new(session));
  if (!channel) {
    return fail(fmt::format("open channel: {}", last_error(session)));
  }
  SignalCatcher catcher;
  catcher.callbacks.userdata = &catcher;
  catcher.callbacks.channel_exit_signal_function = &SignalCatcher::on_exit_signal;
  ssh_callbacks_init(&catcher.callbacks);
  ssh_set_channel_callbacks(channel.get(), &catcher.callbacks);

  if (ssh_channel_open_session(channel.get()) != SSH_OK) {
    return fail(fmt::format("open channel: {}", last_error(session)));
  }
  if (request.pty) {
    int cols = 80;
    int rows = 24;
    struct winsize size {};
    if (request.stdin_fd >= 0 && ::ioctl(request.stdin_fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      cols = size.ws_col;
      rows = size.ws_row;
    }
    const char* term = std::getenv("TERM");
    if (ssh_channel_request_pty_size(channel.get(), term != nullptr ? term : "xterm", cols, rows) != SSH_OK) {
      return fail(fmt::format("request pty: {}", last_error(session)));
    }
  }
  if (request.started != nullptr) {
    *request.started = true;
  }
  if (ssh_channel_request_exec(channel.get(), request.command.c_str()) != SSH_OK) {
    return fail(fmt::format("exec: {}", last_error(session)));
  }
  int stdin_fd = request.stdin_fd;
  bool control = request.watchdog == Watchdog::control;
  if (stdin_fd < 0 && !control) {
    ssh_channel_send_eof(channel.get());
  }
  std::optional<RawTerminal> raw;
  if (request.raw_terminal && stdin_fd >= 0) {
    raw.emplace(stdin_fd);
  }

  ExecOutcome outcome;
  bool timed_out = false;
  auto ended = [&](int status, const std::string& signal) {
    outcome.ending = channel_ending(status, signal);
    outcome.ending.timed_out = timed_out;
    return outcome;
  };
  auto deadline = request.timeout > Seconds::zero()
                      ? Clock::now() + std::chrono::duration_cast<Clock::duration>(request.timeout)
                      : Clock::time_point::max();
  // Stopping: the signal last sent, and when to escalate (to KILL, then to giving up).
  int signal_sent = 0;
  auto escalate_at = Clock::time_point::max();
  auto send_stop = [&](int signum) -> Result<void> {
    signal_sent = signum;
    escalate_at = Clock::now() + k_kill_grace;
    const char* name = rfc4254_signal_name(signum);
    if (control && signum == SIGKILL) {
      if (stdin_fd < 0) {
        ssh_channel_send_eof(channel.get());
      }
      return {};
    }
    if (control && *name != '\0') {
      std::string line = fmt::format("{}\n", name);
      return write_channel(channel.get(), line.data(), line.size());
    }
    if (*name != '\0') {
      // Honoured by OpenSSH for non-root logins (killpg of the session); the escalation below
      // covers a server that refuses or ignores it.
      ssh_channel_request_send_signal(channel.get(), name);
    }
    return {};
  };
  std::vector<char> buffer(64 * 1024);
  while (true) {
    int wanted = request.signal != nullptr ? request.signal->load(std::memory_order_relaxed) : 0;
    if (wanted != 0 && outcome.stopped_by == 0 && !timed_out) {
      outcome.stopped_by = wanted;
    }
    if (wanted != 0 && wanted != signal_sent && signal_sent != SIGKILL) {
      NETLAB_TRY_VOID(send_stop(wanted));
    }
    if (!timed_out && Clock::now() >= deadline) {
      timed_out = true;
      if (signal_sent == 0) {
        NETLAB_TRY_VOID(send_stop(SIGTERM));
      }
    }
    if (Clock::now() >= escalate_at) {
      if (signal_sent != SIGKILL) {
        NETLAB_TRY_VOID(send_stop(SIGKILL));
      } else {
        // The server neither ended the command nor closed the channel: leave it to the watchdog,
        // which sees the session close when the caller drops it.
        return ended(-1, "KILL");
      }
    }
    bool got_data = false;
    for (int is_stderr = 0; is_stderr <= 1; ++is_stderr) {
      int n =
          ssh_channel_read_nonblocking(channel.get(), buffer.data(), static_cast<uint32_t>(buffer.size()), is_stderr);
      if (n == SSH_ERROR) {
        return fail(fmt::format("read output: {}", last_error(session)));
      }
      if (n > 0) {
        got_data = true;
        const auto& write = is_stderr != 0 ? sink.err : sink.out;
        if (write) {
          write(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        }
      }
    }
    if (got_data) {
      continue;
    }
    if (ssh_channel_is_eof(channel.get()) != 0 || ssh_channel_is_closed(channel.get()) != 0) {
      break;
    }
    auto now = Clock::now();
    // Wait for the socket or our stdin; the cap keeps the deadlines honoured, notices a stop
    // request, and covers data libssh already buffered while it was writing.
    int wait_ms = 100;
    for (auto until : {deadline, escalate_at}) {
      if (until != Clock::time_point::max() && until > now) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
        wait_ms = static_cast<int>(std::min<long long>(wait_ms, left + 1));
      }
    }
    struct pollfd fds[2] = {{ssh_get_fd(session), POLLIN, 0}, {stdin_fd, POLLIN, 0}};
    int rc = ::poll(fds, stdin_fd >= 0 ? 2 : 1, wait_ms);
    if (rc < 0 && errno != EINTR) {
      return fail(sys_message("poll", "", errno));
    }
    if (stdin_fd >= 0 && rc > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = ::read(stdin_fd, buffer.data(), buffer.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n <= 0) {
        ssh_channel_send_eof(channel.get());
        stdin_fd = -1;
        raw.reset();
      } else {
        NETLAB_TRY_VOID(write_channel(channel.get(), buffer.data(), static_cast<std::size_t>(n)));
      }
    }
  }
  raw.reset();
  // The channel may close before libssh has read the exit-status message that precedes it.
  return ended(ssh_channel_get_exit_status(channel.get()), catcher.signal);
}

} // namespace netlab::ssh
