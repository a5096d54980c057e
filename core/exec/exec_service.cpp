// The exec services. A session owns at most one running Job; everything it holds is bounded:
// pipelined requests (max_queued), unread output (max_buffered, then the job is paused), output
// in all (max_output), time without a command (idle_timeout).
#include "core/exec/exec_service.hpp"

#include <poll.h>

#include <algorithm>
#include <deque>
#include <list>
#include <unordered_map>

#include <fmt/format.h>

#include "core/crypto/digest.hpp"
#include "core/exec/job.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/net/framed_stream.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::exec {
namespace {

using nlohmann::json;

std::uint64_t to_ms(double seconds) { return static_cast<std::uint64_t>(std::clamp(seconds, 0.0, 1e9) * 1000); }

// (Re)starts a session's idle timer; a weak reference, so a timer never keeps a session alive.
template <typename Session>
void arm_idle_timer(loop::Timer& timer, double seconds, const std::shared_ptr<Session>& session) {
  std::weak_ptr<Session> weak = session;
  timer.start(to_ms(seconds), 0, [weak] {
    if (auto self = weak.lock()) {
      self->close();
    }
  });
}

class Session {
public:
  virtual ~Session() = default;
  virtual void start() = 0;
  virtual void close() = 0;
  // Closes a connection that has not authenticated, saying why.
  virtual void evict(const std::string& why) { (void)why; close(); }
  // Reads the running command's output again (after a pause for memory).
  virtual void resume_output() {
    if (m_job) {
      m_job->resume_output();
    }
  }

protected:
  // The part of closing both kinds share: marks the session closed, kills what it runs and stops
  // its idle timer. False if it was closed already.
  bool stop_work() {
    if (m_closed) {
      return false;
    }
    m_closed = true;
    if (m_job) {
      m_job->abort();
      m_job.reset();
    }
    if (m_idle) {
      m_idle->close();
    }
    return true;
  }

  std::shared_ptr<loop::Timer> m_idle;
  std::shared_ptr<Job> m_job;
  bool m_closed = false;
};

// What all sessions of one loop share. Sessions live in `sessions` until they close, so they
// never outlive it.
struct Shared {
  Shared(loop::Loop& l, ServiceOptions o) : loop(l), options(std::move(o)) {
    // Every command runs as a process tree, so nothing it starts outlives it (docs/security.md).
    auto started = loop::Reaper::start(loop);
    if (!started) {
      throw Error(started.error());
    }
    reaper = std::move(*started);
  }
  loop::Loop& loop;
  ServiceOptions options;
  std::shared_ptr<loop::Reaper> reaper;
  std::shared_ptr<std::size_t> running = std::make_shared<std::size_t>(0);
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;
  // Connections that still have to authenticate, oldest first.
  std::list<Session*> unauthenticated;
  // Legacy output held by all sessions (collected plus queued unsent), and the sessions whose
  // commands are paused until it drops under legacy_max_held.
  std::uint64_t legacy_held = 0;
  std::list<std::weak_ptr<Session>> legacy_paused;

  void resume_legacy() {
    while (!legacy_paused.empty() && legacy_held < options.legacy_max_held) {
      auto session = legacy_paused.front().lock();
      legacy_paused.pop_front();
      if (session) {
        session->resume_output();
      }
    }
  }
  // Per throttled address: the theoretical arrival time (ns) of its next auth attempt (GCRA).
  std::unordered_map<std::string, std::uint64_t> auth_tat;
  // Failed-authentication lines: at most one a second, with a count of those not written.
  std::uint64_t auth_logged_at = 0;
  std::size_t auth_unlogged = 0;

  void log_auth_failure(const std::string& peer) {
    auto now = uv_hrtime();
    if (auth_logged_at != 0 && now - auth_logged_at < 1'000'000'000) {
      ++auth_unlogged;
      return;
    }
    if (auth_unlogged != 0) {
      log::info("{}: authentication failed ({} more failed authentications not logged in the last second)", peer,
                auth_unlogged);
    } else {
      log::info("{}: authentication failed", peer);
    }
    auth_logged_at = now;
    auth_unlogged = 0;
  }
};

// The address failed authentications are counted against: every local user shares loopback,
// and one host usually holds a whole IPv6 /64, so those count as one.
std::string throttle_key(loop::Stream& stream) {
  auto* tcp = dynamic_cast<loop::Tcp*>(&stream);
  if (tcp == nullptr) {
    return "unix";
  }
  auto endpoint = tcp->peer_endpoint();
  const auto* sa = endpoint.sa();
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      std::string key = "v6:";
      for (int i = 0; i < 8; ++i) {
        key += fmt::format("{:02x}", in6->sin6_addr.s6_addr[i]);
      }
      return endpoint.is_loopback() ? "loopback" : key;
    }
    const auto* bytes = in6->sin6_addr.s6_addr + 12;
    return bytes[0] == 127 ? "loopback" : fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&in->sin_addr);
    return bytes[0] == 127 ? "loopback" : fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  return "other";
}

// Calls `on_hangup` once the peer has closed or reset the connection, checked every 100 ms;
// for while a session does not read (a paused stream sees no end of stream).
class HangupWatch {
public:
  void start(loop::Loop& loop, loop::Stream& stream, std::function<void()> on_hangup) {
    if (m_timer && m_timer->is_active()) {
      return;
    }
    uv_os_fd_t fd = -1;
    if (uv_fileno(stream.uv_handle(), &fd) != 0) {
      return;
    }
    if (!m_timer) {
      m_timer = loop::Timer::create(loop);
    }
    m_timer->start(100, 100, [fd, on_hangup = std::move(on_hangup)] {
      pollfd entry{fd, POLLRDHUP, 0};
      if (::poll(&entry, 1, 0) == 1 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
        on_hangup();
      }
    });
  }
  void stop() {
    if (m_timer) {
      m_timer->stop();
    }
  }
  void close() {
    if (m_timer) {
      m_timer->close();
      m_timer.reset();
    }
  }

private:
  std::shared_ptr<loop::Timer> m_timer;
};

void enable_keepalive(loop::Stream& stream) {
  // A client that vanished without a FIN is noticed even while its command is silent.
  if (auto* tcp = dynamic_cast<loop::Tcp*>(&stream)) {
    uv_tcp_keepalive(tcp->raw(), 1, 60);
  }
}

class FramedSession : public Session, public std::enable_shared_from_this<FramedSession> {
public:
  FramedSession(Shared& shared, std::shared_ptr<net::Connection> connection)
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
      JobSpec spec;
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
        send_error(id, "spawn-failed", job.error());
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
    if (m_shared.options.auth_timeout > 0) {
      m_auth_deadline = loop::Timer::create(m_shared.loop);
      std::weak_ptr<FramedSession> weak = weak_from_this();
      m_auth_deadline->start(to_ms(m_shared.options.auth_timeout), 0, [weak] {
        if (auto self = weak.lock(); self && !self->m_authed) {
          self->fail(nullptr, "auth-timeout",
                     fmt::format("not authenticated within {} s (--auth-timeout)", self->m_shared.options.auth_timeout));
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
    const auto interval = static_cast<std::uint64_t>(m_shared.options.auth_interval * 1e9);
    const auto burst = interval * m_shared.options.auth_burst;
    const auto now = uv_hrtime();
    m_throttle_key = throttle_key(m_connection->stream());
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
    const auto interval = static_cast<std::uint64_t>(m_shared.options.auth_interval * 1e9);
    auto found = m_shared.auth_tat.find(m_throttle_key);
    if (found != m_shared.auth_tat.end()) {
      found->second = found->second > interval ? found->second - interval : 0;
      if (found->second <= uv_hrtime()) {
        m_shared.auth_tat.erase(found);
      }
    }
  }

  void arm_idle() {
    if (m_shared.options.idle_timeout > 0 && !m_closed) {
      arm_idle_timer(*m_idle, m_shared.options.idle_timeout, shared_from_this());
    }
  }

  Shared& m_shared;
  std::shared_ptr<net::Connection> m_connection;
  std::shared_ptr<net::FramedStream> m_framed;
  std::string m_nonce;
  std::deque<frame::Frame> m_queue;
  std::int64_t m_job_id = 0;
  bool m_authed = false;
  HangupWatch m_hangup;
  std::shared_ptr<loop::Timer> m_auth_deadline;
  std::shared_ptr<loop::Timer> m_auth_wait;
  std::list<Session*>::iterator m_unauth_position;
  bool m_in_unauth = false;
  std::string m_throttle_key;
  bool m_auth_reserved = false;
  bool m_auth_pending = false;
};

// protocol.md §4: raw command bytes in; length, JSON header and stdout+stderr out.
class LegacySession : public Session, public std::enable_shared_from_this<LegacySession> {
  // Keeps Shared::legacy_held equal to what this session holds now; when that drops, paused
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
  LegacySession(Shared& shared, std::shared_ptr<net::Connection> connection)
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
      info.exit_code = 1;
      m_err = fmt::format("netlab exec-server: busy: {} commands running (--max-running)\n", *m_shared.running);
      info.stderr_size = m_err.size();
      respond(info, "busy");
      return;
    }
    JobSpec spec;
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
      info.exit_code = 127;
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
                {"timed_out", info.timed_out},
                {"truncated", info.truncated},
                {"duration_ms", info.duration_ms}};
    if (info.term_signal != 0) {
      header["signal"] = loop::signal_name(info.term_signal);
    } else {
      header["exit_code"] = info.exit_code;
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
    if (m_shared.options.idle_timeout > 0 && !m_closed) {
      arm_idle_timer(*m_idle, m_shared.options.idle_timeout, shared_from_this());
    }
  }

  Shared& m_shared;
  std::shared_ptr<net::Connection> m_connection;
  std::string m_pending;
  std::string m_out;
  std::string m_err;
};

class ExecService : public net::Service {
public:
  ExecService(loop::Loop& loop, const ServiceOptions& options, bool legacy)
      : m_shared(std::make_unique<Shared>(loop, options)), m_legacy(legacy) {}
  ~ExecService() override { on_stop(); }

  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    std::shared_ptr<Session> session;
    if (m_legacy) {
      session = std::make_shared<LegacySession>(*m_shared, connection);
    } else {
      session = std::make_shared<FramedSession>(*m_shared, connection);
    }
    m_shared->sessions.emplace(session.get(), session);
    session->start();
  }

  void on_stop() override {
    // Closing a session removes it from the map, so walk a copy.
    auto sessions = m_shared->sessions;
    for (auto& [key, session] : sessions) {
      session->close();
    }
    // Anything a command left behind that its tree could not claim goes too.
    m_shared->reaper->kill_all();
  }

private:
  std::unique_ptr<Shared> m_shared;
  bool m_legacy;
};

} // namespace

std::string legacy_length_prefix(std::uint32_t length) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  }
  return out;
}

std::unique_ptr<net::Service> make_exec_service(loop::Loop& loop, const ServiceOptions& options) {
  return std::make_unique<ExecService>(loop, options, false);
}

std::unique_ptr<net::Service> make_legacy_service(loop::Loop& loop, const ServiceOptions& options) {
  return std::make_unique<ExecService>(loop, options, true);
}

} // namespace netlab::exec
