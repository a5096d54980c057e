// UDP sockets on the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop/handle.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/endpoint.hpp"

namespace netlab::loop {

class Udp : public Handle<uv_udp_t>, public std::enable_shared_from_this<Udp> {
public:
  // `truncated` is set when the datagram was larger than the receive buffer (never silently cut).
  using RecvCallback = std::function<void(std::string_view data, const sockaddr* from, bool truncated)>;

  // `batch` enables recvmmsg, reading many datagrams per system call.
  // With a family the socket is opened here: throws netlab::Error "create UDP socket: ..." if that
  // fails (EMFILE), leaving nothing registered on the loop.
  static std::shared_ptr<Udp> create(Loop& loop, int family = AF_UNSPEC, bool batch = false);

  int bind(const loop::Endpoint& endpoint, unsigned flags = 0) { return uv_udp_bind(&m_raw, endpoint.sa(), flags); }
  int connect(const loop::Endpoint& endpoint) { return uv_udp_connect(&m_raw, endpoint.sa()); }
  int recv_start(RecvCallback callback);
  void recv_stop();
  void on_error(std::function<void(int)> callback) { m_on_error = std::move(callback); }

  // Sends now if the socket can take it, else queues a copy. `to` is null on a connected socket.
  int send(std::string_view data, const sockaddr* to);

  loop::Endpoint local_endpoint() const;

  // Largest UDP payload over IPv4: 65535 - 8 (UDP) - 20 (IP).
  static constexpr std::size_t k_max_datagram = 65507;
  // Over IPv6 the payload length does not count the IP header: 65535 - 8 (UDP).
  static constexpr std::size_t k_max_datagram_v6 = 65527;
  static constexpr std::size_t max_datagram(int family) {
    return family == AF_INET6 ? k_max_datagram_v6 : k_max_datagram;
  }
  // What one receive takes whole; more is reported as cut (only IPv6 jumbograms can be).
  static constexpr std::size_t k_receive_limit = 64 * 1024;

private:
  static void alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf);
  void clear_callbacks() override {
    m_on_recv = nullptr;
    m_on_error = nullptr;
  }

  RecvCallback m_on_recv;
  std::function<void(int)> m_on_error;
  std::unique_ptr<char[]> m_buffer;
  std::size_t m_buffer_size = 0;
};

} // namespace netlab::loop
