// exec-server's seed-compatible legacy protocol (protocol.md §4) for one connection.
#include "core/exec/session.hpp"
#include "core/util/exit_code.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace netlab::exec::detail {
namespace {

using nlohmann::json;

// protocol.md §4: raw command bytes in; length, JSON header and stdout+stderr out.
class LegacySession : public ServerSession, public std::enable_shared_from_this<LegacySession> {
  // Keeps ServiceState::legacy_held equal to what this session holds now; when that drops, paused
  // commands may go on.
  void account() {
    std::uint64_t now = m_closed ? 0 : m_out.size() + m_err.size() + m_connection->stream().write_queue_size();
    bool dropped = now < m_held;
    m_shared.legacy_held = m_shared.legacy_held - m_held + now;
    m_held = now;
    if (dropped) {
      m_shared.resume_legacy();
    }
  }
  std::uint64_t m_held = 0;

public:
  LegacySession(ServiceState& shared, std::shared_ptr<net::Connection> connection)
      : m_shared(shared), m_connection(std::move(connection)) {}

  void start() override {
    auto& stream = m_connection->stream();
    enable_keepalive(stream);
    std::weak_ptr<LegacySession> weak = weak_from_this();
    stream.on_data([weak](std::string_view data) {
      if (auto self = weak.lock()) {
        self->on_data(data);
      }
    });
    // As in the classic server, an empty read means the client left.
    stream.on_end([weak] {
      if (auto self = weak.lock()) {
        self->close();
      }
    });
    stream.on_error([weak](int) {
      if (auto self = weak.lock()) {
        self->close();
      }
    });
    stream.on_drain([weak] {
      if (auto self = weak.lock()) {
        self->account();
        self->run_pending();
      }
    });
    m_idle = loop::Timer::create(m_shared.loop);
    arm_idle();
    if (stream.read_start() != 0) {
      close();
    }
  }

  void close() override {
    if (m_closed) {
      return;
    }
    auto keep = shared_from_this();
    stop_work();
    m_connection->stream().close();
    m_out = std::string();
    m_err = std::string();
    account();
    m_shared.resume_legacy();
    m_shared.sessions.erase(this);
  }

private:
  void on_data(std::string_view data) {
    // Commands are read whole while another runs, so a disconnect is noticed at once; what is
    // held meanwhile is bounded by the classic client's own limit.
    if (m_pending.size() + data.size() > k_legacy_max_command) {
      log::info("{}: legacy command longer than {} bytes; closing", m_connection->peer(), k_legacy_max_command);
      close();
      return;
    }
    m_pending.append(data);
    run_pending();
  }

  void run_pending() {
    if (m_closed || m_job || m_pending.empty() ||
        m_connection->stream().write_queue_size() > m_shared.options.max_buffered) {
      return;
    }
    std::string command = std::move(m_pending);
    m_pending.clear();
    m_out.clear();
    m_err.clear();
    if (*m_shared.running >= m_shared.options.max_running) {
      ExitInfo info;
      info.ending = ExitStatus::exited(k_exit_failure);
      m_err = fmt::format("netlab exec-server: busy: {} commands running (--max-running)\n", *m_shared.running);
      info.stderr_size = m_err.size();
      respond(info, "busy");
      return;
    }
    ExecJobSpec spec;
    spec.argv = m_shared.options.legacy_shell;
    spec.argv.push_back(std::move(command));
    spec.timeout = m_shared.options.policy.max_timeout;
    spec.kill_grace = m_shared.options.kill_grace;
    spec.max_output = std::min(m_shared.options.max_output, m_shared.options.legacy_max_output);
    spec.reaper = m_shared.reaper;
    std::weak_ptr<LegacySession> weak = weak_from_this();
    JobEvents events;
    events.on_output = [weak](int fd, std::string_view data) {
      if (auto self = weak.lock()) {
        (fd == 1 ? self->m_out : self->m_err).append(data);
        self->account();
        if (self->m_shared.legacy_held >= self->m_shared.options.legacy_max_held && self->m_job) {
          // Over the loop's budget: stop reading this command until someone else's output
          // has gone out (or its own client is gone).
          self->m_job->pause_output();
          self->m_shared.legacy_paused.push_back(self->weak_from_this());
        }
      }
    };
    events.on_done = [weak](const ExitInfo& info) {
      if (auto self = weak.lock()) {
        self->m_job.reset();
        self->respond(info, nullptr);
      }
    };
    auto job = Job::start(m_shared.loop, std::move(spec), std::move(events), m_shared.running);
    if (!job) {
      ExitInfo info;
      info.ending = ExitStatus::exited(spawn_failure_status(job.code()));
      m_err = job.error() + "\n";
      info.stderr_size = m_err.size();
      respond(info, "spawn-failed");
      return;
    }
    m_job = std::move(*job);
    m_idle->stop();
  }

  void respond(const ExitInfo& info, const char* error) {
    json header{{"total_size", m_out.size() + m_err.size()},
                {"stdout_size", m_out.size()},
                {"stderr_size", m_err.size()},
                {"exit_code", nullptr},
                {"signal", nullptr},
                {"timed_out", info.ending.timed_out},
                {"truncated", info.truncated},
                {"duration_ms", info.duration_ms}};
    if (int signum = info.ending.term_signal(); signum != 0) {
      header["signal"] = loop::signal_name(signum);
    } else {
      header["exit_code"] = info.ending.code;
    }
    if (error != nullptr) {
      header["error"] = error;
    }
    auto text = header.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string head = legacy_length_prefix(static_cast<std::uint32_t>(text.size())) + text;
    // Three writes, each taking its string over: the output is never copied.
    auto& stream = m_connection->stream();
    bool failed = stream.write(std::move(head)) != 0;
    for (auto* part : {&m_out, &m_err}) {
      if (!failed && !part->empty()) {
        failed = stream.write(std::move(*part)) != 0;
      }
      *part = std::string();
    }
    if (failed) {
      close();
      return;
    }
    account();
    arm_idle();
    run_pending();
  }

  void arm_idle() {
    if (m_shared.options.idle_timeout > Seconds::zero() && !m_closed) {
      arm_idle_timer(*m_idle, m_shared.options.idle_timeout, shared_from_this());
    }
  }

  ServiceState& m_shared;
  std::shared_ptr<net::Connection> m_connection;
  std::string m_pending;
  std::string m_out;
  std::string m_err;
};

} // namespace

std::shared_ptr<ServerSession> make_legacy_session(ServiceState& shared, std::shared_ptr<net::Connection> connection) {
  return std::make_shared<LegacySession>(shared, std::move(connection));
}

} // namespace netlab::exec::detail
