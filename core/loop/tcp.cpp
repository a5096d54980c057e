// TCP and pipe stream wrappers.
#include "core/loop/tcp.hpp"

namespace netlab::loop {
namespace {

struct ConnectRequest {
  uv_connect_t req{};
  Stream::StatusCallback done;
};

void connect_callback(uv_connect_t* req, int status) {
  std::unique_ptr<ConnectRequest> request(static_cast<ConnectRequest*>(req->data));
  if (request->done) {
    request->done(status);
  }
}

} // namespace

std::shared_ptr<Tcp> Tcp::create(Loop& loop) {
  auto tcp = std::make_shared<Tcp>();
  check_init(uv_tcp_init(loop.raw(), &tcp->m_tcp), "TCP socket");
  tcp->adopt(tcp);
  return tcp;
}

int Tcp::connect(const loop::Endpoint& endpoint, StatusCallback done) {
  auto* request = new ConnectRequest{};
  request->done = std::move(done);
  request->req.data = request;
  int rc = uv_tcp_connect(&request->req, &m_tcp, endpoint.sa(), &connect_callback);
  if (rc != 0) {
    delete request;
  }
  return rc;
}

loop::Endpoint Tcp::local_endpoint() const {
  loop::Endpoint endpoint;
  int length = sizeof(endpoint.storage);
  uv_tcp_getsockname(&m_tcp, reinterpret_cast<sockaddr*>(&endpoint.storage), &length);
  endpoint.length = static_cast<socklen_t>(length);
  return endpoint;
}

loop::Endpoint Tcp::peer_endpoint() const {
  loop::Endpoint endpoint;
  int length = sizeof(endpoint.storage);
  uv_tcp_getpeername(&m_tcp, reinterpret_cast<sockaddr*>(&endpoint.storage), &length);
  endpoint.length = static_cast<socklen_t>(length);
  return endpoint;
}

void Tcp::close_reset() {
  if (is_closing()) {
    return;
  }
  // uv_tcp_close_reset takes its own close callback path; route it through ours by setting
  // SO_LINGER 0 and closing normally, which sends the same RST.
  uv_os_fd_t fd;
  if (uv_fileno(uv_handle(), &fd) == 0) {
    struct linger lg {
      1, 0
    };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close();
}

std::shared_ptr<Pipe> Pipe::create(Loop& loop) {
  auto pipe = std::make_shared<Pipe>();
  check_init(uv_pipe_init(loop.raw(), &pipe->m_pipe, 0), "pipe");
  pipe->adopt(pipe);
  return pipe;
}

void Pipe::connect(const std::string& path, StatusCallback done) {
  auto* request = new ConnectRequest{};
  request->done = std::move(done);
  request->req.data = request;
  uv_pipe_connect(&request->req, &m_pipe, path.c_str(), &connect_callback);
}

} // namespace netlab::loop
