// Echoing on one plain socket: the readiness models' non-blocking connection and the blocking
// models' sequential one.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "core/models/model.hpp"
#include "core/net/access.hpp"
#include "core/util/fd.hpp"

namespace netlab::models {

enum class Io { idle, progress, closed };

// One echo connection on a non-blocking socket for the readiness-driven models. Output the peer
// has not read yet is kept here, up to max_buffered; past that the model stops asking to read,
// so a peer that never reads costs only its own bound. The destructor closes the socket.
class EchoConnection {
public:
  EchoConnection(int fd, const ModelConfig& config, Stats& stats, net::PeerSlot slot = {});
  ~EchoConnection();
  EchoConnection(const EchoConnection&) = delete;
  EchoConnection& operator=(const EchoConnection&) = delete;

  int fd() const { return m_fd.get(); }
  // When a read or a write last made progress (EOF counts: it is news from the peer).
  std::chrono::steady_clock::time_point last_active() const { return m_last_active; }
  bool wants_read() const { return !m_input_ended && pending() < m_config.max_buffered; }
  bool wants_write() const { return pending() > 0; }
  // Echo bytes held for the peer: at most max_buffered plus one read, however the peer reads.
  std::size_t held() const { return m_out.size(); }

  // Reads what the kernel has (one recv) and echoes it.
  Io on_readable();
  // Sends what is pending.
  Io on_writable();

private:
  std::size_t pending() const { return m_out.size() - m_out_offset; }
  // Sends pending bytes; false on a broken connection.
  bool flush(bool& progressed);
  // After EOF and a full echo, half-close like the peer did; the connection is then done.
  bool finished();

  Fd m_fd;
  const ModelConfig& m_config;
  Stats& m_stats;
  std::string m_out;
  std::size_t m_out_offset = 0;
  bool m_input_ended = false;
  std::chrono::steady_clock::time_point m_last_active;
  net::PeerSlot m_slot;
};

// The blocking models' connection: read, echo all of it, repeat, one step at a time, waiting on
// the socket and the stop signal together, each wait bounded by --idle-timeout since the last
// progress. Returns when the peer is done, broke, idled out, or we stop; the slot is given back
// then.
void serve_sequentially(int fd, ModelContext& context, net::PeerSlot slot = {});

} // namespace netlab::models
