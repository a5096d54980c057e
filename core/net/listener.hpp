// A listening stream socket (TCP or unix) on a loop: bind, listen, accept into the right type.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/loop/tcp.hpp"
#include "core/net/address.hpp"
#include "core/util/result.hpp"

namespace netlab::net {

struct ListenConfig {
  // Lets several loops (threads) bind the same TCP port; the kernel spreads connections.
  bool reuse_port = false;
  // Peers such as socat and ncat use tiny backlogs; a server under load wants the kernel's maximum.
  int backlog = SOMAXCONN;
  // For unix sockets shared between loops: listen on a duplicate of this descriptor.
  int shared_fd = -1;
  // Permission bits of a unix socket file we create; connecting needs write permission.
  unsigned unix_mode = 0666;
};

class Listener {
public:
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens. A unix socket path left behind by a dead server is replaced; one that a
  // live server answers on is an error ("address in use").
  static Result<std::unique_ptr<Listener>> open(loop::Loop& loop, const Address& address, ListenConfig options = {});

  // Starts listening; `on_pending` runs for each connection waiting to be accepted.
  Result<void> start(std::function<void()> on_pending);

  // Accepts one pending connection; nullptr if none (or accept failed, e.g. EMFILE).
  std::shared_ptr<loop::Stream> accept();

  // The address actually bound, in netlab's syntax ("127.0.0.1:41523", "unix:/tmp/s").
  const std::string& bound() const { return m_bound; }
  std::uint16_t port() const { return m_port; }
  int fd() const;
  bool is_unix() const { return m_address.is_unix(); }

  // Stops listening. With `remove_socket_file`, a unix socket's file is removed too.
  void close(bool remove_socket_file = true);

private:
  Listener(loop::Loop& loop, Address address) : m_loop(loop), m_address(std::move(address)) {}

  loop::Loop& m_loop;
  Address m_address;
  std::shared_ptr<loop::Tcp> m_tcp;
  std::shared_ptr<loop::Pipe> m_pipe;
  std::string m_bound;
  std::uint16_t m_port = 0;
  bool m_owns_socket_file = false;
  unsigned m_unix_mode = 0666;
  int m_backlog = SOMAXCONN;
  int m_accept_errors_logged = 0;
};

} // namespace netlab::net
