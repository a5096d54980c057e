// Stream server plumbing shared by echo-server, exec-server and select-server's uv model.
#include "core/net/server.hpp"

#include <cmath>
#include <thread>
#include <vector>

#include "core/loop/process.hpp"
#include "core/loop/tcp.hpp"
#include "core/net/listener.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"

namespace netlab::net {

void Connection::touch() {
  if (m_tracker != nullptr) {
    m_tracker->touch(*this);
  }
}

ConnectionTracker::ConnectionTracker(loop::Loop& loop, std::atomic<std::size_t>& shared_count, ServerLimits limits,
                                     AccessGate* gate)
    : m_loop(loop), m_shared_count(shared_count), m_limits(limits), m_gate(gate) {
  if (m_limits.idle_timeout > Seconds::zero()) {
    // Sweeping a few times per timeout bounds the overshoot without a timer per connection.
    auto period = std::clamp<std::uint64_t>(timer_ms(m_limits.idle_timeout / 4), 10, 1000);
    m_sweeper = loop::Timer::create(loop);
    m_sweeper->start(period, period, [this] { sweep(); });
    m_sweeper->unref();
  }
}

ConnectionTracker::~ConnectionTracker() {
  if (m_sweeper) {
    m_sweeper->close();
  }
  for (auto* connection : m_connections) {
    connection->m_tracker = nullptr;
  }
}

std::shared_ptr<Connection> ConnectionTracker::add(std::shared_ptr<loop::Stream> stream, std::string peer,
                                                   std::function<void()> on_closed) {
  PeerSlot slot;
  std::optional<loop::Endpoint> address;
  if (auto* tcp = dynamic_cast<loop::Tcp*>(stream.get())) {
    address = tcp->peer_endpoint();
  }
  if (m_gate != nullptr && m_gate->active()) {
    auto admitted = m_gate->admit(address.value_or(loop::Endpoint{}).sa());
    if (!admitted) {
      refuse(*stream, peer, admitted.error());
      return nullptr;
    }
    slot = std::move(*admitted);
  }
  if (m_shared_count.fetch_add(1) >= m_limits.max_conns) {
    m_shared_count.fetch_sub(1);
    refuse(*stream, peer, fmt::format("--max-conns {} reached", m_limits.max_conns));
    return nullptr;
  }
  auto connection = std::make_shared<Connection>(stream, std::move(peer), std::move(address));
  connection->m_slot = std::move(slot);
  connection->m_tracker = this;
  connection->m_last_active = m_loop.now();
  connection->m_position = m_connections.insert(m_connections.end(), connection.get());
  // The close callback owns the Connection until the stream is gone.
  stream->on_close([this, connection, on_closed = std::move(on_closed)] {
    if (connection->m_tracker != nullptr) {
      m_connections.erase(connection->m_position);
      connection->m_tracker = nullptr;
    }
    m_shared_count.fetch_sub(1);
    connection->m_slot.release();
    if (on_closed) {
      on_closed();
    }
  });
  return connection;
}

void ConnectionTracker::refuse(loop::Stream& stream, const std::string& peer, const std::string& why) {
  m_refusals.note(m_loop.now(), why, peer);
  // A reset, not a FIN: the peer learns at once, and no TIME_WAIT is left on our side.
  if (auto* tcp = dynamic_cast<loop::Tcp*>(&stream)) {
    tcp->close_reset();
  } else {
    stream.close();
  }
}

void ConnectionTracker::touch(Connection& connection) {
  connection.m_last_active = m_loop.now();
  m_connections.splice(m_connections.end(), m_connections, connection.m_position);
}

void ConnectionTracker::sweep() {
  auto limit = timer_ms(m_limits.idle_timeout);
  auto now = m_loop.now();
  for (auto* connection : m_connections) {
    if (now - connection->m_last_active < limit) {
      break;
    }
    connection->stream().close();
  }
}

void ConnectionTracker::close_all() {
  for (auto* connection : m_connections) {
    connection->stream().close();
  }
}

std::string peer_name(loop::Stream& stream) {
  if (auto* tcp = dynamic_cast<loop::Tcp*>(&stream)) {
    return tcp->peer_endpoint().to_string();
  }
  return "unix";
}

namespace {

// One loop: its listener, tracker and service.
class ServerWorker {
public:
  ServerWorker(std::atomic<std::size_t>& count, const ServerConfig& config, AccessGate& gate)
      : m_tracker(m_loop, count, config.limits, &gate) {}
  // Close callbacks refer to the tracker and service, so they must run while those still exist.
  ~ServerWorker() {
    stop();
    m_loop.close_all();
  }

  Result<void> listen(const ServerConfig& config, ListenConfig options, const ServiceFactory& factory) {
    NETLAB_TRY(m_listener, Listener::open(m_loop, config.address, options));
    m_service = factory(m_loop);
    return m_listener->start([this] { accept_pending(); });
  }

  void stop() {
    if (m_stopped) {
      return;
    }
    m_stopped = true;
    if (m_listener) {
      m_listener->close(m_removes_socket_file);
    }
    if (m_service) {
      m_service->on_stop();
    }
    m_tracker.close_all();
    if (m_waker) {
      m_waker->close();
    }
  }

  loop::Loop& loop() { return m_loop; }
  Listener& listener() { return *m_listener; }
  void set_waker(std::shared_ptr<loop::Async> waker) { m_waker = std::move(waker); }
  void keep_socket_file() { m_removes_socket_file = false; }

private:
  void accept_pending() {
    auto stream = m_listener->accept();
    if (!stream) {
      return;
    }
    auto peer = peer_name(*stream);
    if (auto connection = m_tracker.add(stream, std::move(peer))) {
      m_service->on_connection(connection);
    }
  }

  loop::Loop m_loop;
  ConnectionTracker m_tracker;
  std::unique_ptr<Listener> m_listener;
  std::unique_ptr<Service> m_service;
  std::shared_ptr<loop::Async> m_waker;
  bool m_stopped = false;
  bool m_removes_socket_file = true;
};

} // namespace

Result<void> run_server(const ServerConfig& config, const ServiceFactory& factory) {
  fs::raise_fd_limit();
  fs::PortFile port_file(config.port_file);
  std::atomic<std::size_t> count{0};
  // Shared by every worker, so --max-conns-per-ip counts an address across all of them.
  AccessGate gate(config.access);
  int workers = std::max(1, config.workers);
  std::vector<std::unique_ptr<ServerWorker>> pool;
  for (int i = 0; i < workers; ++i) {
    pool.push_back(std::make_unique<ServerWorker>(count, config, gate));
  }

  // The first worker binds (learning the port when 0 was asked for); the others join it.
  ListenConfig first;
  first.reuse_port = workers > 1 && !config.address.is_unix();
  first.unix_mode = config.unix_mode;
  NETLAB_TRY_VOID(pool[0]->listen(config, first, factory));
  ServerConfig joined = config;
  if (!config.address.is_unix()) {
    joined.address.port = pool[0]->listener().port();
  }
  for (int i = 1; i < workers; ++i) {
    ListenConfig options;
    options.reuse_port = !config.address.is_unix();
    options.shared_fd = config.address.is_unix() ? pool[0]->listener().fd() : -1;
    pool[i]->keep_socket_file();
    NETLAB_TRY_VOID(pool[i]->listen(joined, options, factory));
  }

  // Other workers are woken through an async handle, the one libuv call safe across threads.
  std::vector<std::shared_ptr<loop::Async>> wakers;
  for (int i = 1; i < workers; ++i) {
    auto* worker = pool[i].get();
    auto waker = loop::Async::create(worker->loop(), [worker] { worker->stop(); });
    worker->set_waker(waker);
    wakers.push_back(waker);
  }
  std::vector<std::shared_ptr<loop::Signal>> signals;
  // HUP too: a server started from a terminal that closes stops as cleanly as on TERM (port
  // file and socket file removed), rather than dying of the default action.
  for (int signum : {SIGINT, SIGTERM, SIGHUP}) {
    auto watcher = loop::Signal::create(pool[0]->loop());
    watcher->start(signum, [&pool, &signals, &wakers](int number) {
      log::info("SIG{} received, shutting down", loop::signal_name(number));
      for (auto& signal : signals) {
        signal->close();
      }
      for (auto& waker : wakers) {
        waker->send();
      }
      pool[0]->stop();
    });
    signals.push_back(watcher);
  }
  // Announced only now that SIGINT/SIGTERM are watched: a script may stop us right after.
  // The port file comes first: a script that saw the log line may read it at once.
  NETLAB_TRY_VOID(port_file.write(config.address.is_unix() ? config.address.to_string()
                                                           : std::to_string(pool[0]->listener().port())));
  log::info("listening on {}", pool[0]->listener().bound());

  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) {
    threads.emplace_back([worker = pool[i].get()] { worker->loop().run(); });
  }
  pool[0]->loop().run();
  for (auto& thread : threads) {
    thread.join();
  }
  return {};
}

} // namespace netlab::net
