// ssh-exec: per-host work, output modes and the fan-out pool.
#include "core/ssh_exec/ssh_exec_command.hpp"

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

#include "core/pool/pool.hpp"
#include "core/pool/remote_executor.hpp"
#include "core/ssh/client_setup.hpp"
#include "core/ssh/remote_command.hpp"
#include "core/ssh/sftp.hpp"
#include "core/ssh/transfer_guard.hpp"
#include "core/ssh/transfer_progress.hpp"
#include "core/util/error.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"

namespace netlab::ssh {
namespace {

// One host, streaming: INT, TERM, HUP and QUIT (as pool-run) while the command runs are forwarded to it instead of
// ending netlab at once, so the remote command is stopped first (remote_command.hpp); a second one
// makes that a KILL. Outside the command (connecting, transferring) they keep their default action.
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
  static constexpr int k_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction m_saved[std::size(k_signals)]{};
};

// A closed stdout costs the output, not the remote commands.
void write_out(int fd, std::string_view data) { (void)write_all(fd, data, "output"); }

struct HostResult {
  std::string label;
  bool connected = false;
  std::string error; // empty: no local-side failure
  // What ssh-exec ends with for this host: the command's ending.shell_status(), or the code of
  // the failure in `error`.
  int exit_code = 0;
  // How the command ended; unknown when it did not run. timed_out also when the transfers did.
  ExitStatus ending = ExitStatus::unknown();
  int stopped_by = 0; // a local signal stopped the command
  std::string out;
  std::string err;
  TransferStats transferred;

  bool failed() const { return !error.empty() || exit_code != 0; }
};

class Runner {
public:
  Runner(const SshExecConfig& config, TransferProgress& progress, bool scheduler_signals = false)
      : m_config(config), m_progress(progress), m_scheduler_signals(scheduler_signals) {}

  // Connects, transfers, runs; `sink` receives the command's output as it arrives.
  // `stop`: the scheduler's signal for this host (many hosts); null for one host, which then
  // catches INT, TERM and HUP itself while the command runs.
  HostResult run_host(const HostSpec& spec, const std::string& get_prefix, const OutputSink& sink,
                      const std::atomic<int>* stop = nullptr) {
    HostResult result;
    result.label = spec.label;
    // Whichever way this host leaves its transfer phase, the progress line hears of it once.
    bool transfers_over = false;
    auto end_transfers = [&] {
      if (!std::exchange(transfers_over, true)) {
        m_progress.host_done();
      }
    };
    auto finish = [&]() -> HostResult {
      end_transfers();
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
      result.exit_code = signal_exit_status(signum);
      return finish();
    }
    if (stop != nullptr && stop->load() != 0) {
      // --timeout or an interrupt came while connecting or transferring.
      result.stopped_by = stop->load();
      result.error = "stopped before the command started";
      result.exit_code = k_exit_failure;
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
      if (stop != nullptr) {
        request.signal = stop;
      } else {
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
      result.ending = outcome->ending;
      result.stopped_by = outcome->stopped_by;
      result.exit_code = outcome->ending.shell_status();
      if (outcome->ending.timed_out) {
        result.error = fmt::format("command timed out after {}s", m_config.timeout.count());
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
    std::optional<InterruptWatch> interrupts;
    if (!m_scheduler_signals) {
      interrupts.emplace();
    }
    TransferGuard guard(session, m_config.connect.connect_timeout, m_config.timeout);
    TransferConfig options{m_config.recursive, m_config.preserve, m_config.follow_links, m_progress.meter(), &guard};
    auto failed = [&](const std::string& error) {
      guard.stop();
      result.exit_code = k_exit_failure;
      result.error = error;
      switch (guard.expired()) {
      case TransferGuard::Expired::connect_timeout:
        result.ending.timed_out = true;
        result.exit_code = k_exit_timeout;
        result.error = fmt::format("starting SFTP timed out after {}s (--connect-timeout): {}",
                                   m_config.connect.connect_timeout.count(), error);
        break;
      case TransferGuard::Expired::timeout:
        result.ending.timed_out = true;
        result.exit_code = k_exit_timeout;
        result.error = fmt::format("transfers timed out after {}s (--timeout): {}", m_config.timeout.count(), error);
        break;
      case TransferGuard::Expired::interrupted:
      case TransferGuard::Expired::no:
        break;
      }
      if (int signum = InterruptWatch::caught(); signum != 0 && !result.ending.timed_out) {
        result.exit_code = signal_exit_status(signum);
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

  const SshExecConfig& m_config;
  TransferProgress& m_progress;
  bool m_scheduler_signals; // on pool-run's scheduler, whose watchers catch INT/TERM/HUP
};

std::string safe_file_name(const std::string& label) {
  std::string out = label;
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

// One host, default output: stream straight through and let main() report a failure.
int run_single(const SshExecConfig& config, Runner& runner) {
  OutputSink sink;
  sink.out = [](std::string_view data) { write_out(STDOUT_FILENO, data); };
  sink.err = [](std::string_view data) { write_out(STDERR_FILENO, data); };
  auto result = runner.run_host(config.hosts.front(), "", sink);
  if (result.stopped_by != 0) {
    int first = result.stopped_by == SIGKILL ? SIGINT : result.stopped_by;
    throw Error(fmt::format("{}: interrupted by SIG{}; the remote command was stopped", result.label,
                            rfc4254_signal_name(first)),
                signal_exit_status(first));
  }
  if (result.ending.timed_out) {
    throw TimeoutError(fmt::format("{}: {}", result.label, result.error));
  }
  if (int signum = InterruptWatch::caught(); signum != 0) {
    throw Error(result.error.empty() ? fmt::format("interrupted by {}", InterruptWatch::name(signum)) : result.error,
                signal_exit_status(signum));
  }
  if (!result.error.empty()) {
    throw Error(result.error, result.exit_code);
  }
  return result.exit_code;
}

// Many hosts (or --tag, --json, --joblog): pool-run's scheduler with one job per host, so
// --timeout, signals, grouping, tagging, --json, --joblog and exit codes are pool-run's.
int run_pooled(const SshExecConfig& config, Runner& runner, std::mutex& output_mutex, TransferProgress& progress) {
  bool many = config.hosts.size() > 1;
  pool::PoolConfig pool;
  pool.command = {"{}"}; // never run: the executor runs `config.command` on host {#}
  pool.fixed_command = join_command(config.command);
  std::vector<std::string> labels;
  for (const auto& spec : config.hosts) {
    labels.push_back(spec.label);
  }
  pool.groups = {labels};
  pool.jobs = static_cast<unsigned>(
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(config.jobs, 1)), 1, config.hosts.size()));
  pool.tag = config.tag;
  pool.tag_separator = ": ";
  pool.json = config.json;
  // --timeout stays ssh-exec's (transfers, then the command, each; remote_command.hpp stops the
  // command the same way the scheduler's signals do), so the scheduler gets none.
  pool.joblog = config.joblog;
  pool.group_header = [&config](const pool::JobRecord& record, const pool::JobOutcome& outcome) -> std::string {
    if (config.tag || outcome.unreachable) {
      return {};
    }
    return fmt::format("--- {}: exit {} ---\n", record.host, record.exit_code);
  };
  // The summary: each failed host and why, once the run is over.
  std::vector<std::string> failures;
  int last_exit = 0;
  pool.on_finished = [&](const pool::JobRecord& record, const pool::JobOutcome& outcome) {
    {
      std::lock_guard lock(output_mutex);
      progress.clear_locked();
    }
    last_exit = static_cast<int>(record.exit_code);
    std::string why;
    if (!outcome.start_error.empty()) {
      why = outcome.start_error;
    } else if (int signum = outcome.ending.term_signal(); signum != 0) {
      why = fmt::format("killed by SIG{}", rfc4254_signal_name(signum));
    } else if (record.exit_code != 0) {
      why = fmt::format("exit {}", record.exit_code);
    }
    if (!why.empty()) {
      failures.push_back(fmt::format("{}: {}", record.host, why));
    }
  };
  pool.on_interrupt = [](int signum) { InterruptWatch::notify(signum); };
  pool.executor = [&](loop::Loop& loop) {
    return pool::make_ssh_host_executor(loop, [&, many](std::size_t index, const std::atomic<int>& stop,
                                                        const OutputSink& sink) {
      const auto& spec = config.hosts[index];
      auto result = runner.run_host(spec, many ? safe_file_name(spec.label) : "", sink, &stop);
      pool::JobOutcome outcome;
      outcome.host = spec.label;
      // The joblog and --json say what this host alone would end ssh-exec with, and the signal.
      outcome.ending = result.ending;
      outcome.reported_exit = result.exit_code;
      outcome.start_error = result.error;
      outcome.unreachable = !result.connected;
      outcome.bytes_transferred = result.transferred.bytes;
      outcome.files_transferred = result.transferred.files;
      if (result.stopped_by != 0 && result.exit_code == 0 && result.ending.term_signal() == 0) {
        outcome.ending = ExitStatus::signaled(result.stopped_by);
      }
      return outcome;
    });
  };
  auto result = pool::run_pool(pool);
  if (!result) {
    throw Error(result.error());
  }
  if (result->interrupted) {
    int signum = result->interrupt_signal;
    throw Error(fmt::format("interrupted by SIG{}; the remote commands were stopped", rfc4254_signal_name(signum)),
                signal_exit_status(signum));
  }
  if (!failures.empty()) {
    log::info("{} of {} host{} failed:", failures.size(), config.hosts.size(), many ? "s" : "");
    for (const auto& line : failures) {
      log::info("{}", line);
    }
  }
  if (!many) {
    return last_exit; // one host with --tag, --json or --joblog: its status, as without them
  }
  return result->exit_code();
}

int ssh_exec(const SshExecConfig& config) {
  if (config.hosts.empty()) {
    throw UsageError("no hosts: give HOST arguments or --hosts-file");
  }
  if (config.command.empty() && config.puts.empty() && config.gets.empty()) {
    throw UsageError("nothing to do: give a COMMAND after --, or --put/--get");
  }
  Library library;
  SshExecConfig effective = config;
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
  if (config.hosts.size() == 1 && !config.tag && !config.json && config.joblog.empty()) {
    Runner runner(effective, progress);
    return run_single(effective, runner);
  }
  // The scheduler's signal watchers catch INT, TERM and HUP and tell transfers through
  // InterruptWatch::notify; an InterruptWatch of the transfers' own would take them away.
  Runner runner(effective, progress, /*scheduler_signals=*/true);
  return run_pooled(effective, runner, output_mutex, progress);
}

} // namespace

Result<int> run_ssh_exec(const SshExecConfig& config) {
  return catch_failure([&] { return ssh_exec(config); });
}

} // namespace netlab::ssh
