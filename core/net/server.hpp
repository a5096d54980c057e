// What every netlab stream server shares: listen (on one or several loops), print the bound
// address, write the port file, apply the access rules, cap connections, close idle ones, stop
// on SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "core/loop/endpoint.hpp"
#include "core/loop/loop.hpp"
#include "core/loop/stream.hpp"
#include "core/loop/timer.hpp"
#include "core/net/access.hpp"
#include "core/net/address.hpp"
#include "core/net/refusal_log.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::net {

struct ServerLimits {
  std::size_t max_conns = 10000;
  // Time without activity before a connection is closed; 0 disables. Activity is what the
  // service marks with Connection::touch() (the echo service: bytes read from the peer, its
  // queued echo written out completely, a TLS handshake finished).
  Seconds idle_timeout{300};
};

struct ServerConfig {
  Address address;
  int workers = 1;
  std::string port_file;
  ServerLimits limits;
  AccessPolicy access;
  // A unix socket file's permission bits (connecting needs write permission).
  unsigned unix_mode = 0666;
};

// One accepted connection as a service sees it.
class Connection {
public:
  // `peer_address`: the peer's IP address and port, for a TCP peer; empty for a unix-socket one.
  Connection(std::shared_ptr<loop::Stream> stream, std::string peer, std::optional<loop::Endpoint> peer_address)
      : m_stream(std::move(stream)), m_peer(std::move(peer)), m_peer_address(std::move(peer_address)) {}

  loop::Stream& stream() { return *m_stream; }
  const std::shared_ptr<loop::Stream>& stream_ptr() const { return m_stream; }
  const std::string& peer() const { return m_peer; }
  // Where the connection really comes from, also when the stream is a bridge (TLS terminated in
  // front of the service hands the service a socketpair): per-address policy uses this, never
  // the stream's own peer.
  const std::optional<loop::Endpoint>& peer_address() const { return m_peer_address; }
  // Marks activity, postponing the idle timeout.
  void touch();

private:
  friend class ConnectionTracker;
  std::shared_ptr<loop::Stream> m_stream;
  std::string m_peer;
  std::optional<loop::Endpoint> m_peer_address;
  class ConnectionTracker* m_tracker = nullptr;
  std::uint64_t m_last_active = 0;
  std::list<Connection*>::iterator m_position;
  PeerSlot m_slot;
};

// A loop's connections: checks each against the access rules (`gate`, shared by all loops, may
// be null), counts them against a cap shared by all loops and closes idle ones. Connections are
// kept in least-recently-active order, so the idle sweep stops at the first connection that is
// still fresh.
class ConnectionTracker {
public:
  ConnectionTracker(loop::Loop& loop, std::atomic<std::size_t>& shared_count, ServerLimits limits,
                    AccessGate* gate = nullptr);
  ~ConnectionTracker();

  // Registers an accepted stream, before anything is read from it. A peer the gate refuses, or
  // one past the cap, is reset and nullptr returned. The Connection lives until the stream
  // closes; `on_closed` (optional) runs then.
  std::shared_ptr<Connection> add(std::shared_ptr<loop::Stream> stream, std::string peer,
                                  std::function<void()> on_closed = {});
  std::size_t size() const { return m_connections.size(); }
  void close_all();

private:
  friend class Connection;
  void touch(Connection& connection);
  void sweep();
  void refuse(loop::Stream& stream, const std::string& peer, const std::string& why);

  loop::Loop& m_loop;
  std::atomic<std::size_t>& m_shared_count;
  ServerLimits m_limits;
  AccessGate* m_gate;
  std::list<Connection*> m_connections;
  std::shared_ptr<loop::Timer> m_sweeper;
  RefusalLog m_refusals;
};

// A server's per-loop logic: it gets each accepted connection after it has been counted.
class Service {
public:
  virtual ~Service() = default;
  virtual void on_connection(const std::shared_ptr<Connection>& connection) = 0;
  // The server is stopping; connections are closed by the tracker right after.
  virtual void on_stop() {}
};

using ServiceFactory = std::function<std::unique_ptr<Service>(loop::Loop& loop)>;

// Runs until SIGINT or SIGTERM: then stops accepting, closes clients and returns success.
// With workers > 1, each worker is a thread with its own loop; TCP workers share the port with
// SO_REUSEPORT, unix-socket workers share the listening socket.
Result<void> run_server(const ServerConfig& config, const ServiceFactory& factory);

// Text for a peer, e.g. "127.0.0.1:50312" or "unix".
std::string peer_name(loop::Stream& stream);

} // namespace netlab::net
