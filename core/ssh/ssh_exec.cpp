// ssh-exec: per-host work, output modes and the fan-out pool.
#include "core/ssh/ssh_exec.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/ssh/client_setup.hpp"
#include "core/ssh/exec.hpp"
#include "core/ssh/sftp.hpp"
#include "core/ssh/transfer_guard.hpp"
#include "core/ssh/transfer_progress.hpp"
#include "core/util/error.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"

namespace netlab::ssh {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int k_max_failed_exit = 100;

// One host, streaming: INT, TERM and HUP while the command runs are forwarded to it instead of
// ending netlab at once, so the remote command is stopped first (exec.hpp); a second one makes
// that a KILL. Outside the command (connecting, transferring) they keep their default action.
std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signum) {
  int none = 0;
  if (!g_stop_signal.compare_exchange_strong(none, signum)) {
    g_stop_signal.store(SIGKILL);
  }
}

class StopSignals {
public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(k_signals); ++i) {
      ::sigaction(k_signals[i], &action, &m_saved[i]);
    }
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < std::size(k_signals); ++i) {
      ::sigaction(k_signals[i], &m_saved[i], nullptr);
    }
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

private:
  static constexpr int k_signals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction m_saved[std::size(k_signals)] {};
};

// A closed stdout costs the output, not the remote commands.
void write_out(int fd, std::string_view data) { (void)write_all(fd, data, "output"); }

struct HostResult {
  std::string label;
  bool connected = false;
  std::string error; // empty: no local-side failure
  int exit_code = 0;
  int exit_status = -1;
  std::string signal;
  bool timed_out = false;
  int stopped_by = 0; // a local signal stopped the command
  std::string out;
  std::string err;
  double duration = 0;
  TransferStats transferred;

  bool failed() const { return !error.empty() || exit_code != 0; }
};

// Turns a byte stream into whole lines prefixed with the host, so lines from different hosts
// never mix even when the remote writes half a line at a time.
class LineTagger {
public:
  LineTagger(std::string prefix, int fd, std::mutex& mutex, TransferProgress& progress)
      : m_prefix(std::move(prefix)), m_fd(fd), m_mutex(mutex), m_progress(progress) {}

  void feed(std::string_view data) {
    m_pending.append(data);
    auto last = m_pending.rfind('\n');
    if (last == std::string::npos) {
      return;
    }
    emit(std::string_view(m_pending).substr(0, last + 1));
    m_pending.erase(0, last + 1);
  }

  void flush() {
    if (!m_pending.empty()) {
      m_pending.push_back('\n');
      emit(m_pending);
      m_pending.clear();
    }
  }

private:
  void emit(std::string_view lines) {
    std::string out;
    while (!lines.empty()) {
      auto newline = lines.find('\n');
      out += m_prefix;
      out.append(lines.substr(0, newline + 1));
      lines.remove_prefix(newline + 1);
    }
    std::lock_guard lock(m_mutex);
    m_progress.clear_locked();
    write_out(m_fd, out);
  }

  std::string m_prefix;
  int m_fd;
  std::mutex& m_mutex;
  TransferProgress& m_progress;
  std::string m_pending;
};

class Runner {
public:
  Runner(const ExecConfig& config, TransferProgress& progress) : m_config(config), m_progress(progress) {}

  // Connects, transfers, runs; `sink` receives the command's output as it arrives.
  HostResult run_host(const HostSpec& spec, const std::string& get_prefix, const OutputSink& sink) {
    HostResult result;
    result.label = spec.label;
    auto started = Clock::now();
    // Whichever way this host leaves its transfer phase, the progress line hears of it once.
    bool transfers_over = false;
    auto end_transfers = [&] {
      if (!std::exchange(transfers_over, true)) {
        m_progress.host_done();
      }
    };
    auto finish = [&]() -> HostResult {
      end_transfers();
      result.duration = std::chrono::duration<double>(Clock::now() - started).count();
      return result;
    };
    auto target = resolve_target(spec, m_config.connect);
    if (!target) {
      result.error = target.error();
      result.exit_code = k_exit_connect;
      return finish();
    }
    auto connected = connect(*target, m_config.connect);
    if (!connected) {
      result.error = connected.error();
      result.exit_code = k_exit_connect;
      return finish();
    }
    result.connected = true;
    ssh_session session = connected->session.get();
    if (!transfer_all(session, get_prefix, result)) {
      return finish();
    }
    end_transfers();
    if (int signum = InterruptWatch::caught(); signum != 0) {
      result.error = fmt::format("interrupted by {}", InterruptWatch::name(signum));
      result.exit_code = 128 + signum;
      return finish();
    }
    if (!m_config.command.empty()) {
      ExecRequest request;
      request.pty = m_config.pty;
      request.timeout = m_config.timeout;
      request.stdin_fd = m_config.forward_stdin && m_config.hosts.size() == 1 ? STDIN_FILENO : -1;
      request.raw_terminal = m_config.raw_terminal;
      // The control watchdog needs the channel's stdin to itself, and a pty would echo its lines.
      request.watchdog = request.stdin_fd >= 0 || request.pty ? Watchdog::parent : Watchdog::control;
      request.command = supervised_command(join_command(m_config.command), request.watchdog);
      std::optional<StopSignals> stop_signals;
      if (m_config.hosts.size() == 1) {
        stop_signals.emplace();
        request.signal = &g_stop_signal;
      }
      auto outcome = run_command(session, request, sink);
      stop_signals.reset();
      if (!outcome) {
        result.error = outcome.error();
        result.exit_code = k_exit_connect;
        return finish();
      }
      result.exit_status = outcome->exit_status;
      result.signal = outcome->signal;
      result.timed_out = outcome->timed_out;
      result.stopped_by = outcome->stopped_by;
      result.exit_code = outcome->exit_code();
      if (outcome->timed_out) {
        result.error = fmt::format("command timed out after {}s", m_config.timeout);
      }
    }
    return finish();
  }

private:
  // Every --put, then every --get, under one TransferGuard: --connect-timeout until SFTP is up,
  // then --timeout. False when one failed (`result` says why).
  bool transfer_all(ssh_session session, const std::string& get_prefix, HostResult& result) {
    if (m_config.puts.empty() && m_config.gets.empty()) {
      return true;
    }
    // INT, TERM and HUP let the transfers remove their temporary files before netlab ends.
    InterruptWatch interrupts;
    TransferGuard guard(session, m_config.connect.connect_timeout, m_config.timeout);
    TransferOptions options{m_config.recursive, m_config.preserve, m_config.follow_links, m_progress.meter(), &guard};
    auto failed = [&](const std::string& error) {
      guard.stop();
      result.exit_code = k_exit_failure;
      result.error = error;
      switch (guard.expired()) {
      case TransferGuard::Expired::connect_timeout:
        result.timed_out = true;
        result.exit_code = k_exit_timeout;
        result.error = fmt::format("starting SFTP timed out after {}s (--connect-timeout): {}",
                                   m_config.connect.connect_timeout, error);
        break;
      case TransferGuard::Expired::timeout:
        result.timed_out = true;
        result.exit_code = k_exit_timeout;
        result.error = fmt::format("transfers timed out after {}s (--timeout): {}", m_config.timeout, error);
        break;
      case TransferGuard::Expired::interrupted:
      case TransferGuard::Expired::no:
        break;
      }
      if (int signum = InterruptWatch::caught(); signum != 0 && !result.timed_out) {
        result.exit_code = 128 + signum;
        if (!error.starts_with("interrupted")) {
          result.error = fmt::format("interrupted by {}: {}", InterruptWatch::name(signum), error);
        }
      }
      return false;
    };
    for (const auto& transfer : m_config.puts) {
      auto stats = put(session, transfer.from, transfer.to, options);
      if (!stats) {
        return failed(stats.error());
      }
      add(result.transferred, *stats);
    }
    for (const auto& transfer : m_config.gets) {
      std::string local = transfer.to;
      if (!get_prefix.empty()) {
        // Many hosts: LOCAL/HOST/ holds each host's copy under its own name.
        local = (std::filesystem::path(transfer.to) / get_prefix).string();
        std::error_code ec;
        std::filesystem::create_directories(local, ec);
        if (ec) {
          return failed(fmt::format("mkdir {}: {}", local, ec.message()));
        }
      }
      auto stats = get(session, transfer.from, local, options);
      if (!stats) {
        return failed(stats.error());
      }
      add(result.transferred, *stats);
    }
    return true;
  }

  static void add(TransferStats& total, const TransferStats& more) {
    total.bytes += more.bytes;
    total.files += more.files;
  }

  const ExecConfig& m_config;
  TransferProgress& m_progress;
};

std::string safe_file_name(const std::string& label) {
  std::string out = label;
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

nlohmann::json to_json(const HostResult& result) {
  nlohmann::json object;
  object["host"] = result.label;
  object["exit"] = result.exit_code;
  object["signal"] = result.signal.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.signal);
  object["stdout"] = result.out;
  object["stderr"] = result.err;
  object["duration"] = std::round(result.duration * 1e6) / 1e6;
  object["error"] = result.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.error);
  object["bytes_transferred"] = result.transferred.bytes;
  object["files_transferred"] = result.transferred.files;
  return object;
}

// One host, default output: stream straight through and let main() report a failure.
int run_single(const ExecConfig& config, Runner& runner) {
  OutputSink sink;
  sink.out = [](std::string_view data) { write_out(STDOUT_FILENO, data); };
  sink.err = [](std::string_view data) { write_out(STDERR_FILENO, data); };
  auto result = runner.run_host(config.hosts.front(), "", sink);
  if (result.stopped_by != 0) {
    int first = result.stopped_by == SIGKILL ? SIGINT : result.stopped_by;
    throw Error(fmt::format("{}: interrupted by SIG{}; the remote command was stopped", result.label,
                            signal_name(first)),
                128 + first);
  }
  if (result.timed_out) {
    throw TimeoutError(fmt::format("{}: {}", result.label, result.error));
  }
  if (int signum = InterruptWatch::caught(); signum != 0) {
    throw Error(result.error.empty() ? fmt::format("interrupted by {}", InterruptWatch::name(signum)) : result.error,
                128 + signum);
  }
  if (!result.error.empty()) {
    throw Error(result.error, result.exit_code);
  }
  return result.exit_code;
}

int run_many(const ExecConfig& config, Runner& runner, std::mutex& output_mutex, TransferProgress& progress) {
  std::atomic<std::size_t> next{0};
  std::atomic<int> failed{0};
  bool many = config.hosts.size() > 1;
  int last_exit = 0;

  auto work = [&] {
    while (true) {
      std::size_t index = next.fetch_add(1);
      if (index >= config.hosts.size()) {
        return;
      }
      const auto& spec = config.hosts[index];
      std::optional<LineTagger> tag_out;
      std::optional<LineTagger> tag_err;
      std::string out;
      std::string err;
      OutputSink sink;
      if (config.tag) {
        tag_out.emplace(spec.label + ": ", STDOUT_FILENO, output_mutex, progress);
        tag_err.emplace(spec.label + ": ", STDERR_FILENO, output_mutex, progress);
        sink.out = [&](std::string_view data) { tag_out->feed(data); };
        sink.err = [&](std::string_view data) { tag_err->feed(data); };
      } else {
        sink.out = [&](std::string_view data) { out.append(data); };
        sink.err = [&](std::string_view data) { err.append(data); };
      }
      auto result = runner.run_host(spec, many ? safe_file_name(spec.label) : "", sink);
      result.out = std::move(out);
      result.err = std::move(err);
      if (tag_out) {
        tag_out->flush();
        tag_err->flush();
      }
      if (result.failed()) {
        failed.fetch_add(1);
      }
      std::lock_guard lock(output_mutex);
      progress.clear_locked();
      last_exit = result.exit_code;
      if (config.json) {
        write_out(STDOUT_FILENO,
                  to_json(result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        continue;
      }
      if (!result.error.empty()) {
        log::info("{}: {}", result.label, result.error);
      }
      if (!config.tag && result.connected) {
        std::string header = fmt::format("--- {}: exit {} ---\n", result.label, result.exit_code);
        write_out(STDOUT_FILENO, header + result.out);
        if (!result.err.empty()) {
          write_out(STDERR_FILENO, header + result.err);
        }
      }
    }
  };

  std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(std::max(config.jobs, 1)), config.hosts.size());
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    pool.emplace_back(work);
  }
  for (auto& thread : pool) {
    thread.join();
  }
  if (!many) {
    return last_exit;
  }
  if (failed > 0 && !config.json) {
    log::info("{} of {} hosts failed", failed.load(), config.hosts.size());
  }
  return std::min(failed.load(), k_max_failed_exit);
}

} // namespace

int run_ssh_exec(const ExecConfig& config) {
  if (config.hosts.empty()) {
    throw UsageError("no hosts: give HOST arguments or --hosts-file");
  }
  if (config.command.empty() && config.puts.empty() && config.gets.empty()) {
    throw UsageError("nothing to do: give a COMMAND after --, or --put/--get");
  }
  Library library;
  ExecConfig effective = config;
  auto targets = prepare_targets(config.hosts, effective.connect, config.credentials);
  if (!targets) {
    throw UsageError(targets.error());
  }
  if (config.hosts.size() > 1) {
    for (const auto& transfer : config.gets) {
      std::error_code ec;
      std::filesystem::create_directories(transfer.to, ec);
      if (ec) {
        throw Error(fmt::format("mkdir {}: {}", transfer.to, ec.message()));
      }
    }
  }
  std::uint64_t expected = 0;
  for (const auto& transfer : config.puts) {
    expected += local_size(transfer.from, config.recursive) * config.hosts.size();
  }
  std::mutex output_mutex;
  bool has_transfers = !config.puts.empty() || !config.gets.empty();
  TransferProgress progress(output_mutex, config.hosts.size(), expected, config.progress && has_transfers);
  Runner runner(effective, progress);
  if (config.hosts.size() == 1 && !config.tag && !config.json) {
    return run_single(effective, runner);
  }
  int status = run_many(effective, runner, output_mutex, progress);
  if (int signum = InterruptWatch::caught(); signum != 0) {
    throw Error(fmt::format("interrupted by {}", InterruptWatch::name(signum)), 128 + signum);
  }
  return status;
}

} // namespace netlab::ssh
