// TCP sockets and unix-domain/pipe streams on the loop.
#pragma once

#include <memory>
#include <string>

#include "core/loop/stream.hpp"
#include "core/loop/endpoint.hpp"

namespace netlab::loop {

class Tcp : public Stream, public std::enable_shared_from_this<Tcp> {
public:
  Tcp() : Stream(reinterpret_cast<uv_stream_t*>(&m_tcp)) {}
  static std::shared_ptr<Tcp> create(Loop& loop);

  // Adopts a socket made elsewhere (for SO_REUSEPORT listeners).
  int open(int fd) { return uv_tcp_open(&m_tcp, fd); }
  int bind(const loop::Endpoint& endpoint, unsigned flags = 0) { return uv_tcp_bind(&m_tcp, endpoint.sa(), flags); }
  int connect(const loop::Endpoint& endpoint, StatusCallback done);
  int nodelay(bool enable) { return uv_tcp_nodelay(&m_tcp, enable ? 1 : 0); }

  loop::Endpoint local_endpoint() const;
  loop::Endpoint peer_endpoint() const;

  // Closes with an RST instead of a FIN: for refusing a connection without lingering.
  void close_reset();

  uv_tcp_t* raw() { return &m_tcp; }

private:
  uv_tcp_t m_tcp{};
};

class Pipe : public Stream, public std::enable_shared_from_this<Pipe> {
public:
  Pipe() : Stream(reinterpret_cast<uv_stream_t*>(&m_pipe)) {}
  static std::shared_ptr<Pipe> create(Loop& loop);

  int open(int fd) { return uv_pipe_open(&m_pipe, fd); }
  int bind(const std::string& path) { return uv_pipe_bind(&m_pipe, path.c_str()); }
  void connect(const std::string& path, StatusCallback done);

  uv_pipe_t* raw() { return &m_pipe; }

private:
  uv_pipe_t m_pipe{};
};

} // namespace netlab::loop
