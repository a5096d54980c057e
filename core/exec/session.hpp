// What exec-server's two kinds of session share (framed_session.cpp, legacy_session.cpp) and the
// state all sessions of one loop hold. A session owns at most one running Job; everything it
// holds is bounded: pipelined requests (max_queued), unread output (max_buffered, then the job
// is paused), output in all (max_output), time without a command (idle_timeout). Internal to
// core/exec.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include <poll.h>

#include "core/exec/exec_service.hpp"
#include "core/exec/job.hpp"
#include "core/loop/reaper.hpp"
#include "core/loop/stream.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/net/server.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace netlab::exec::detail {

// (Re)starts a session's idle timer; a weak reference, so a timer never keeps a session alive.
template <typename Session>
void arm_idle_timer(loop::Timer& timer, Seconds idle, const std::shared_ptr<Session>& session) {
  std::weak_ptr<Session> weak = session;
  timer.start(timer_ms(idle), 0, [weak] {
    if (auto self = weak.lock()) {
      self->close();
    }
  });
}

// One client's connection to exec-server, spoken framed (framed_session.cpp) or legacy
// (legacy_session.cpp).
class ServerSession {
public:
  virtual ~ServerSession() = default;
  virtual void start() = 0;
  virtual void close() = 0;
  // Closes a connection that has not authenticated, saying why.
  virtual void evict(const std::string& why) {
    (void)why;
    close();
  }
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

// The exec service's state on one loop, which all its sessions share. Sessions live in `sessions` until they close, so they
// never outlive it.
struct ServiceState {
  ServiceState(loop::Loop& l, ExecServiceConfig o) : loop(l), options(std::move(o)) {
    // Every command runs as a process tree, so nothing it starts outlives it (docs/security.md).
    auto started = loop::Reaper::start(loop);
    if (!started) {
      throw Error(started.error());
    }
    reaper = std::move(*started);
  }
  loop::Loop& loop;
  ExecServiceConfig options;
  std::shared_ptr<loop::Reaper> reaper;
  std::shared_ptr<std::size_t> running = std::make_shared<std::size_t>(0);
  std::unordered_map<ServerSession*, std::shared_ptr<ServerSession>> sessions;
  // Connections that still have to authenticate, oldest first.
  std::list<ServerSession*> unauthenticated;
  // Legacy output held by all sessions (collected plus queued unsent), and the sessions whose
  // commands are paused until it drops under legacy_max_held.
  std::uint64_t legacy_held = 0;
  std::list<std::weak_ptr<ServerSession>> legacy_paused;

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

// The address failed authentications are counted against: the connection's real peer, also
// behind TLS termination (else every TLS client would share one budget with an attacker). Every
// local user shares loopback, and one host usually holds a whole IPv6 /64, so those count as one.
std::string throttle_key(const net::Connection& connection);

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

inline void enable_keepalive(loop::Stream& stream) {
  // A client that vanished without a FIN is noticed even while its command is silent.
  if (auto* tcp = dynamic_cast<loop::Tcp*>(&stream)) {
    uv_tcp_keepalive(tcp->raw(), 1, 60);
  }
}

// One session on `connection`, registered in shared.sessions by the caller and started by it.
std::shared_ptr<ServerSession> make_framed_session(ServiceState& shared, std::shared_ptr<net::Connection> connection);
std::shared_ptr<ServerSession> make_legacy_session(ServiceState& shared, std::shared_ptr<net::Connection> connection);

} // namespace netlab::exec::detail
