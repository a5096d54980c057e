// The bridge between a TlsStream and a socketpair end the inner service reads and writes.
#include "core/tls/terminator.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/loop/tcp.hpp"
#include "core/tls/tls_stream.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::tls {
namespace {

// Bytes one direction may hold queued before the other side stops being read.
constexpr std::size_t k_bridge_window = 256 * 1024;

struct Bridge {
  net::Connection* outer = nullptr;
  TlsStream* tls = nullptr;         // owned by the outer transport's callbacks
  std::shared_ptr<loop::Pipe> ours; // our end of the socketpair
  bool tls_ended = false;
  bool inner_ended = false;
};

class TerminatingService : public net::Service {
public:
  TerminatingService(loop::Loop& loop, std::shared_ptr<Context> context, Seconds handshake_timeout,
                     std::unique_ptr<net::Service> inner)
      : m_loop(loop), m_context(std::move(context)), m_handshake_timeout(handshake_timeout), m_inner(std::move(inner)) {
  }

  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    auto session = Session::server(m_context);
    if (!session) {
      connection->stream().close();
      return;
    }
    auto tls = TlsStream::wrap(m_loop, connection->stream_ptr(), std::move(*session), m_handshake_timeout);
    auto bridge = std::make_shared<Bridge>();
    bridge->outer = connection.get();
    bridge->tls = tls.get();
    std::string peer = connection->peer();
    tls->on_handshake([this, bridge, peer, address = connection->peer_address()] { attach(bridge, peer, address); });
    tls->on_data([bridge](std::string_view data) {
      bridge->outer->touch();
      if (!bridge->ours || bridge->ours->write(data) != 0) {
        bridge->tls->close();
        return;
      }
      if (bridge->ours->write_queue_size() > k_bridge_window) {
        bridge->tls->read_stop();
      }
    });
    tls->on_end([bridge] {
      // The client is done sending (close_notify, or EOF): the inner service sees a half-close.
      bridge->tls_ended = true;
      if (bridge->ours && bridge->ours->shutdown() != 0) {
        bridge->ours->close();
      }
      if (!bridge->ours) {
        bridge->tls->close();
      }
    });
    tls->on_error([this, bridge, peer](const std::string& why) {
      report(peer, why);
      if (bridge->ours) {
        bridge->ours->close();
      }
    });
    tls->on_drain([bridge] {
      bridge->outer->touch();
      if (bridge->ours && !bridge->ours->reading() && !bridge->inner_ended && !bridge->ours->is_closing()) {
        bridge->ours->read_start();
      }
    });
    tls->on_gone([bridge] {
      // The outer connection closed (peer gone, idle, server stopping): so does the inner one.
      if (bridge->ours) {
        bridge->ours->close();
      }
      bridge->tls = nullptr;
    });
    tls->start();
  }

  void on_stop() override { m_inner->on_stop(); }

private:
  // Strangers choose how often their handshakes fail: at most one line a second, with a count of
  // the ones left out, so they cannot flood the log.
  void report(const std::string& peer, const std::string& why) {
    std::uint64_t now = uv_now(m_loop.raw());
    if (m_logged_at != 0 && now - m_logged_at < 1000) {
      ++m_unlogged;
      return;
    }
    if (m_unlogged > 0) {
      log::info("{}: {} ({} more TLS failures not logged in the last second)", peer, why, m_unlogged);
    } else {
      log::info("{}: {}", peer, why);
    }
    m_logged_at = now;
    m_unlogged = 0;
  }

  void attach(const std::shared_ptr<Bridge>& bridge, const std::string& peer,
              const std::optional<loop::Endpoint>& address) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      log::info("{}: {}", peer, sys_message("socketpair", "", errno));
      bridge->tls->close();
      return;
    }
    auto ours = loop::Pipe::create(m_loop);
    auto theirs = loop::Pipe::create(m_loop);
    if (ours->open(fds[0]) != 0 || theirs->open(fds[1]) != 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      ours->close();
      theirs->close();
      bridge->tls->close();
      return;
    }
    bridge->ours = ours;
    ours->on_data([bridge](std::string_view data) {
      if (bridge->tls == nullptr || bridge->tls->write(data) != 0) {
        bridge->ours->close();
        return;
      }
      bridge->outer->touch();
      if (bridge->tls->write_queue_size() > k_bridge_window) {
        bridge->ours->read_stop();
      }
    });
    ours->on_end([bridge] {
      // The inner service finished: close_notify to the client, then close once it has gone.
      bridge->inner_ended = true;
      bridge->ours->close();
      if (bridge->tls != nullptr) {
        auto* tls = bridge->tls;
        if (tls->shutdown([tls](int) { tls->close(); }) != 0) {
          tls->close();
        }
      }
    });
    ours->on_error([bridge](int) {
      bridge->ours->close();
      if (bridge->tls != nullptr) {
        bridge->tls->close();
      }
    });
    ours->on_drain([bridge] {
      if (bridge->tls != nullptr && !bridge->tls->reading() && !bridge->tls_ended) {
        bridge->tls->read_start();
      }
    });
    ours->on_close([bridge] {
      // Breaks the cycle through our callbacks; the TLS side closes with us if it has not.
      bridge->ours.reset();
      if (bridge->tls != nullptr && !bridge->inner_ended) {
        bridge->tls->close();
      }
    });
    ours->read_start();
    // The inner connection is not tracked (the outer one is, for the cap and the idle sweep); it
    // lives until its stream closes. It carries the outer peer's address, so the inner service's
    // per-address rules (exec's auth throttle) see the real peer, not the socketpair.
    auto inner = std::make_shared<net::Connection>(theirs, peer, address);
    theirs->on_close([inner] {});
    m_inner->on_connection(inner);
  }

  loop::Loop& m_loop;
  std::shared_ptr<Context> m_context;
  Seconds m_handshake_timeout;
  std::unique_ptr<net::Service> m_inner;
  std::uint64_t m_logged_at = 0;
  std::uint64_t m_unlogged = 0;
};

} // namespace

std::unique_ptr<net::Service> make_terminating_service(loop::Loop& loop, std::shared_ptr<Context> context,
                                                       Seconds handshake_timeout, std::unique_ptr<net::Service> inner) {
  return std::make_unique<TerminatingService>(loop, std::move(context), handshake_timeout, std::move(inner));
}

} // namespace netlab::tls
