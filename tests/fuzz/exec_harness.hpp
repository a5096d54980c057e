// Shared by the exec-server fuzz targets: one connection to an in-process exec service over a
// socketpair, fed the client's bytes in pieces with the loop run in between, and everything the
// server sent collected.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/exec/exec_service.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/tcp.hpp"
#include "core/loop/timer.hpp"
#include "core/net/server.hpp"

namespace fuzz_exec {

using namespace netlab;

class Harness {
public:
  // `legacy` picks the service; `options` as the server would have them.
  Harness(const exec::ExecServiceConfig& options, bool legacy) {
    // As netlab's main does: a peer that closed must not kill the server with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    m_service = legacy ? exec::make_legacy_service(m_loop, options) : exec::make_exec_service(m_loop, options);
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      __builtin_trap();
    }
    m_peer = fds[1];
    ::fcntl(m_peer, F_SETFL, ::fcntl(m_peer, F_GETFL) | O_NONBLOCK);
    auto pipe = loop::Pipe::create(m_loop);
    if (pipe->open(fds[0]) != 0) {
      __builtin_trap();
    }
    auto connection = std::make_shared<net::Connection>(pipe, "fuzz", std::nullopt);
    m_service->on_connection(connection);
  }

  ~Harness() {
    m_service->on_stop();
    m_service.reset();
    m_loop.close_all();
    ::close(m_peer);
  }

  // Runs the loop without blocking for up to `ms` milliseconds, or until the server closed the
  // connection, or (with `until_quiet`) until nothing arrived for that long.
  void run(std::uint64_t ms, bool until_quiet = false) {
    auto deadline = uv_hrtime() + ms * 1'000'000;
    while (true) {
      auto before = m_received.size();
      for (int i = 0; i < 4; ++i) {
        m_loop.run(UV_RUN_NOWAIT);
      }
      drain();
      auto now = uv_hrtime();
      if (until_quiet && m_received.size() != before) {
        deadline = now + ms * 1'000'000;
      }
      if (m_server_closed || now >= deadline) {
        return;
      }
      ::usleep(100);
    }
  }

  // Sends client bytes (as far as the socket takes them), then lets the server react.
  void send(const std::string& bytes) {
    std::size_t at = 0;
    int stuck = 0;
    while (at < bytes.size() && !m_server_closed && stuck < 50) {
      ssize_t n = ::send(m_peer, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n > 0) {
        at += static_cast<std::size_t>(n);
        stuck = 0;
      } else {
        ++stuck;
        run(1);
      }
    }
    run(0);
  }

  void half_close() { ::shutdown(m_peer, SHUT_WR); }
  bool server_closed() const { return m_server_closed; }
  const std::string& received() const { return m_received; }

private:
  void drain() {
    char buffer[65536];
    while (true) {
      ssize_t n = ::recv(m_peer, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        m_server_closed = true; // the server closed (or reset) the connection
        return;
      }
      if (n < 0) {
        return;
      }
      m_received.append(buffer, static_cast<std::size_t>(n));
    }
  }

  loop::Loop m_loop;
  std::unique_ptr<net::Service> m_service;
  int m_peer = -1;
  bool m_server_closed = false;
  std::string m_received;
};

} // namespace fuzz_exec
