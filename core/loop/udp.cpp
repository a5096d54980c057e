// UDP wrapper: one receive buffer per socket, sized for a batch of maximal datagrams.
#include "core/loop/udp.hpp"

namespace netlab::loop {
namespace {

// One byte more than the largest datagram, so a datagram that fills it is known to be cut.
constexpr std::size_t k_slot = Udp::k_receive_limit + 1;
constexpr std::size_t k_batch = 16;

struct SendRequest {
  uv_udp_send_t req{};
  std::string data;
};

} // namespace

std::shared_ptr<Udp> Udp::create(Loop& loop, int family, bool batch) {
  auto udp = std::make_shared<Udp>();
  unsigned flags = static_cast<unsigned>(family);
  if (batch) {
    flags |= UV_UDP_RECVMMSG;
  }
  check_init(uv_udp_init_ex(loop.raw(), &udp->m_raw, flags), "UDP socket");
  udp->m_buffer_size = batch ? k_slot * k_batch : k_slot;
  udp->adopt(udp);
  return udp;
}

void Udp::alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* self = static_cast<Udp*>(HandleBase::from(handle));
  if (!self->m_buffer) {
    self->m_buffer = std::make_unique<char[]>(self->m_buffer_size);
  }
  *buf = uv_buf_init(self->m_buffer.get(), static_cast<unsigned>(self->m_buffer_size));
}

int Udp::recv_start(RecvCallback callback) {
  m_on_recv = std::move(callback);
  return uv_udp_recv_start(&m_raw, &Udp::alloc,
                           [](uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                              unsigned flags) {
                             auto* self = static_cast<Udp*>(HandleBase::from(reinterpret_cast<uv_handle_t*>(handle)));
                             if (nread < 0) {
                               if (self->m_on_error) {
                                 self->m_on_error(static_cast<int>(nread));
                               }
                               return;
                             }
                             // nread 0 with no sender: nothing more to read now, or the end of a batch.
                             if (from == nullptr || self->m_on_recv == nullptr) {
                               return;
                             }
                             bool truncated = (flags & UV_UDP_PARTIAL) != 0;
                             self->m_on_recv(std::string_view(buf->base, static_cast<std::size_t>(nread)), from,
                                             truncated);
                           });
}

void Udp::recv_stop() {
  if (!is_closing()) {
    uv_udp_recv_stop(&m_raw);
  }
}

int Udp::send(std::string_view data, const sockaddr* to) {
  if (is_closing()) {
    return UV_EPIPE;
  }
  uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  int rc = uv_udp_try_send(&m_raw, &buf, 1, to);
  if (rc >= 0) {
    return 0;
  }
  if (rc != UV_EAGAIN) {
    return rc;
  }
  auto* request = new SendRequest{};
  request->data.assign(data);
  request->req.data = request;
  buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
  rc = uv_udp_send(&request->req, &m_raw, &buf, 1, to,
                   [](uv_udp_send_t* req, int) { delete static_cast<SendRequest*>(req->data); });
  if (rc != 0) {
    delete request;
  }
  return rc;
}

loop::Endpoint Udp::local_endpoint() const {
  loop::Endpoint endpoint;
  int length = sizeof(endpoint.storage);
  uv_udp_getsockname(&m_raw, reinterpret_cast<sockaddr*>(&endpoint.storage), &length);
  endpoint.length = static_cast<socklen_t>(length);
  return endpoint;
}

} // namespace netlab::loop
