// exec-server's framed protocol (protocol.md §3): authentication, exec requests, stdin, signals
// and output frames for one connection.
#include "core/exec/session.hpp"

#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/crypto/digest.hpp"
#include "core/net/framed_stream.hpp"

namespace netlab::exec::detail {
namespace {

using nlohmann::json;

class FramedSession : public ServerSession, public std::enable_shared_from_this<FramedSession> {
public:
  FramedSession(ServiceState& shared, std::shared_ptr<net::Connection> connection)
      : m_shared(shared), m_connection(std::move(connection)) {}

  void start() override {
    enable_keepalive(m_connection->stream());
    std::weak_ptr<FramedSession> weak = weak_from_this();
    net::FramedStream::Callbacks callbacks;
    callbacks.on_frame = [weak](frame::Frame&& frame) {
      if (auto self = weak.lock()) {
        self->on_frame(std::move(frame));
      }
    };
    callbacks.on_protocol_error = [weak](const std::string& message) {
      if (auto self = weak.lock()) {
        self->fail(nullptr, "protocol", message);
      }
    };
    // EOF means the client left (a client half-closing while it waits is indistinguishable
    // from one that is gone): whatever it started is killed.
    callbacks.on_end = [weak] {
      if (auto self = weak.lock()) {
        self->close();
      }
    };
    callbacks.on_error = [weak](int) {
      if (auto self = weak.lock()) {
        self->close();
      }
    };
    callbacks.on_drain = [weak] {
      if (auto self = weak.lock()) {
        if (self->m_job) {
          self->m_job->resume_output();
        }
        self->update_reading();
      }
    };
    m_authed = m_shared.options.token.empty();
    auto limits = m_shared.options.limits;
    if (!m_authed) {
      // The first frame must be the body-less auth; anything else is refused once its header
      // is read, so a stranger never gets --max-body of our memory per connection.
      limits.first_max_body = k_pre_auth_max_body;
    }
    m_framed = net::FramedStream::create(m_connection->stream_ptr(), limits, std::move(callbacks));
    m_idle = loop::Timer::create(m_shared.loop);
    try {
      m_nonce = crypto::to_hex(crypto::random_bytes(32));
    } catch (const std::exception& e) {
      log::info("{}: {}", m_connection->peer(), e.what());
      close();
      return;
    }
    m_framed->send(hello_header(!m_authed, m_nonce));
    if (!m_authed) {
      start_unauthenticated();
    }
    arm_idle();
    update_reading();
  }

  void close() override { close_session(false); }

  // Called after the list already dropped this session.
  void evict(const std::string& why) override {
    m_in_unauth = false;
    fail(nullptr, "auth-timeout", why);
  }

private:
  void close_session(bool flush) {
    if (m_closed) {
      return;
    }
    auto keep = shared_from_this();
    stop_work();
    leave_unauthenticated();
    m_hangup.close();
    if (m_auth_wait) {
      m_auth_wait->close();
    }
    refund_auth_attempt();
    if (m_framed) {
      if (flush) {
        m_framed->close_after_flush();
      } else {
        m_framed->close();
      }
    }
    m_queue.clear();
    m_shared.sessions.erase(this);
  }

  // An error that ends the conversation: say why, then close once the peer has it.
  void fail(const json& id, std::string_view code, const std::string& message) {
    m_framed->send(error_header(id, code, message));
    close_session(true);
  }

  void send_error(const json& id, std::string_view code, const std::string& message) {
    if (m_framed->send(error_header(id, code, message)) != 0) {
      close();
    }
  }

  void on_frame(frame::Frame&& frame) {
    auto type = frame.type();
    if (!m_authed) {
      if (m_auth_pending) {
        // Nothing may follow the auth frame before its answer; reading is paused meanwhile.
        fail(nullptr, "auth-required", fmt::format("'{}' before the answer to auth", type));
      } else if (type != "auth") {
        fail(nullptr, "auth-required", fmt::format("'{}' before authenticating; send an auth frame first", type));
      } else {
        throttle_auth(std::move(frame));
      }
      return;
    }
    if (type == "exec") {
      m_queue.push_back(std::move(frame));
      start_next();
      update_reading();
    } else if (type == "signal") {
      auto parsed = parse_signal(frame);
      if (auto* error = std::get_if<RequestError>(&parsed)) {
        send_error(frame_id(frame.header), error->code, error->message);
      } else if (auto& request = std::get<SignalRequest>(parsed); m_job && request.id == m_job_id) {
        m_job->signal(request.signum);
      }
      // A signal for a command that has already finished (or not started) is a harmless race.
    } else if (type == "auth") {
      send_error(frame_id(frame.header), "bad-request",
                 m_shared.options.token.empty() ? "this server requires no authentication" : "already authenticated");
    } else {
      send_error(frame_id(frame.header), "bad-request", fmt::format("unknown frame type '{}'", type));
    }
    update_reading();
  }

  void start_next() {
    while (!m_job && !m_queue.empty() && !m_closed) {
      auto frame = std::move(m_queue.front());
      m_queue.pop_front();
      auto id = frame_id(frame.header);
      auto parsed = parse_exec(std::move(frame), m_shared.options.policy);
      if (auto* error = std::get_if<RequestError>(&parsed)) {
        send_error(id, error->code, error->message);
        continue;
      }
      auto& request = std::get<Request>(parsed);
      if (*m_shared.running >= m_shared.options.max_running) {
        send_error(id, "busy", fmt::format("{} commands running, the server's --max-running", *m_shared.running));
        continue;
      }
      ExecJobSpec spec;
      spec.argv = std::move(request.argv);
      spec.program = std::move(request.program);
      spec.env = std::move(request.env);
      spec.cwd = std::move(request.cwd);
      spec.stdin_data = std::move(request.stdin_data);
      spec.timeout = request.timeout;
      spec.kill_grace = m_shared.options.kill_grace;
      spec.max_output = m_shared.options.max_output;
      spec.reaper = m_shared.reaper;
      std::weak_ptr<FramedSession> weak = weak_from_this();
      JobEvents events;
      events.on_output = [weak](int fd, std::string_view data) {
        if (auto self = weak.lock()) {
          self->on_output(fd, data);
        }
      };
      events.on_done = [weak](const ExitInfo& info) {
        if (auto self = weak.lock()) {
          self->on_done(info);
        }
      };
      auto job = Job::start(m_shared.loop, std::move(spec), std::move(events), m_shared.running);
      if (!job) {
        auto header = error_header(id, "spawn-failed", job.error());
        header["status"] = spawn_failure_status(job.code());
        if (m_framed->send(std::move(header)) != 0) {
          close();
        }
        continue;
      }
      m_job = std::move(*job);
      m_job_id = request.id;
      m_idle->stop();
    }
    if (!m_job && m_queue.empty() && !m_closed) {
      arm_idle();
    }
  }

  void on_output(int fd, std::string_view data) {
    auto bytes = frame::encode_head(json{{"type", fd == 1 ? "stdout" : "stderr"}, {"id", m_job_id}}, data.size());
    bytes.append(data);
    if (m_framed->send_raw(std::move(bytes)) != 0) {
      close();
      return;
    }
    if (m_framed->write_queue_size() > m_shared.options.max_buffered) {
      m_job->pause_output();
    }
  }

  void on_done(const ExitInfo& info) {
    m_framed->send(exit_header(m_job_id, info));
    m_job.reset();
    start_next();
    update_reading();
  }

  // Reads only while the client is keeping up and has not queued too much: beyond that, TCP
  // flow control holds it off instead of our memory. While not reading, a client that leaves is
  // still noticed (HangupWatch), so what it started is killed.
  void update_reading() {
    if (m_closed) {
      return;
    }
    bool want = m_framed->write_queue_size() <= m_shared.options.max_buffered &&
                m_queue.size() < m_shared.options.max_queued && !m_auth_pending;
    if (want && m_framed->paused()) {
      m_framed->resume();
    } else if (!want && !m_framed->paused()) {
      m_framed->pause();
    }
    if (m_framed->paused()) {
      std::weak_ptr<FramedSession> weak = weak_from_this();
      m_hangup.start(m_shared.loop, m_connection->stream(), [weak] {
        if (auto self = weak.lock()) {
          self->close();
        }
      });
    } else {
      m_hangup.stop();
    }
  }

  void start_unauthenticated() {
    auto& waiting = m_shared.unauthenticated;
    // Past the cap, the longest-waiting stranger makes room: a newcomer (perhaps the token
    // holder) is never the one refused.
    while (waiting.size() >= std::max<std::size_t>(1, m_shared.options.max_unauthenticated)) {
      auto* oldest = waiting.front();
      waiting.pop_front();
      oldest->evict(fmt::format("{} connections are waiting to authenticate; the oldest is closed to make room",
                                m_shared.options.max_unauthenticated));
    }
    m_unauth_position = waiting.insert(waiting.end(), this);
    m_in_unauth = true;
    if (m_shared.options.auth_timeout > Seconds::zero()) {
      m_auth_deadline = loop::Timer::create(m_shared.loop);
      std::weak_ptr<FramedSession> weak = weak_from_this();
      m_auth_deadline->start(timer_ms(m_shared.options.auth_timeout), 0, [weak] {
        if (auto self = weak.lock(); self && !self->m_authed) {
          self->fail(nullptr, "auth-timeout",
                     fmt::format("not authenticated within {} s (--auth-timeout)",
                                 self->m_shared.options.auth_timeout.count()));
        }
      });
    }
  }

  void leave_unauthenticated() {
    if (m_in_unauth) {
      m_shared.unauthenticated.erase(m_unauth_position);
      m_in_unauth = false;
    }
    if (m_auth_deadline) {
      m_auth_deadline->close();
      m_auth_deadline.reset();
    }
  }

  // Checks the MAC when this peer's address has budget left, else once its turn comes: a guess
  // costs every later guess from that address auth_interval (after a burst of auth_burst).
  void throttle_auth(frame::Frame&& frame) {
    const auto interval = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(m_shared.options.auth_interval).count());
    const auto burst = interval * m_shared.options.auth_burst;
    const auto now = uv_hrtime();
    m_throttle_key = throttle_key(*m_connection);
    if (m_shared.auth_tat.size() > 4096) {
      // Addresses whose debt is paid are forgotten, so the table holds only recent offenders.
      std::erase_if(m_shared.auth_tat, [now](const auto& entry) { return entry.second <= now; });
    }
    auto& tat = m_shared.auth_tat[m_throttle_key];
    auto allowed = tat > burst && tat - burst > now ? tat - burst : now;
    tat = std::max(tat, now) + interval;
    m_auth_reserved = true;
    m_auth_pending = true;
    if (allowed <= now) {
      verify_auth(frame);
      return;
    }
    update_reading();
    m_auth_wait = loop::Timer::create(m_shared.loop);
    std::weak_ptr<FramedSession> weak = weak_from_this();
    m_auth_wait->start((allowed - now) / 1'000'000 + 1, 0, [weak, frame = std::move(frame)] {
      if (auto self = weak.lock()) {
        self->verify_auth(frame);
      }
    });
  }

  void verify_auth(const frame::Frame& frame) {
    if (m_closed) {
      return;
    }
    m_auth_pending = false;
    if (!check_auth(frame, m_shared.options.token, m_nonce)) {
      m_auth_reserved = false; // the failure keeps its cost
      m_shared.log_auth_failure(m_connection->peer());
      fail(nullptr, "auth-failed", "the MAC does not match this connection's nonce and the server's token");
      return;
    }
    refund_auth_attempt();
    m_authed = true;
    leave_unauthenticated();
    m_framed->send(json{{"type", "auth-ok"}});
    update_reading();
  }

  // A success, or an attempt that never got its answer, costs the address nothing.
  void refund_auth_attempt() {
    if (!m_auth_reserved) {
      return;
    }
    m_auth_reserved = false;
    const auto interval = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(m_shared.options.auth_interval).count());
    auto found = m_shared.auth_tat.find(m_throttle_key);
    if (found != m_shared.auth_tat.end()) {
      found->second = found->second > interval ? found->second - interval : 0;
      if (found->second <= uv_hrtime()) {
        m_shared.auth_tat.erase(found);
      }
    }
  }

  void arm_idle() {
    if (m_shared.options.idle_timeout > Seconds::zero() && !m_closed) {
      arm_idle_timer(*m_idle, m_shared.options.idle_timeout, shared_from_this());
    }
  }

  ServiceState& m_shared;
  std::shared_ptr<net::Connection> m_connection;
  std::shared_ptr<net::FramedStream> m_framed;
  std::string m_nonce;
  std::deque<frame::Frame> m_queue;
  std::int64_t m_job_id = 0;
  bool m_authed = false;
  HangupWatch m_hangup;
  std::shared_ptr<loop::Timer> m_auth_deadline;
  std::shared_ptr<loop::Timer> m_auth_wait;
  std::list<ServerSession*>::iterator m_unauth_position;
  bool m_in_unauth = false;
  std::string m_throttle_key;
  bool m_auth_reserved = false;
  bool m_auth_pending = false;
};

} // namespace

std::shared_ptr<ServerSession> make_framed_session(ServiceState& shared, std::shared_ptr<net::Connection> connection) {
  return std::make_shared<FramedSession>(shared, std::move(connection));
}

} // namespace netlab::exec::detail
