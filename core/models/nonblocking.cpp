// The non-blocking model: every socket non-blocking, and one loop that keeps trying each of them.
// No readiness API at all, so it burns a core even when idle; --stats shows that CPU cost. Idle
// passes yield the CPU, which keeps the machine usable but does not make this efficient.
#include <sched.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/models/accept.hpp"
#include "core/models/echo_connection.hpp"
#include "core/models/idle_sweep.hpp"
#include "core/models/stop_signal.hpp"

namespace netlab::models {

Result<void> serve_nonblocking(ModelContext& context) {
  std::vector<std::unique_ptr<EchoConnection>> connections;
  Refuser refuser;
  IdleSweep idle(context.config.idle_timeout);
  while (!context.stop.requested()) {
    bool progressed = accept_batch(
        context, refuser, 1, [&] { return connections.size(); },
        [&](int fd, net::PeerSlot slot) {
          connections.push_back(std::make_unique<EchoConnection>(fd, context.config, context.stats, std::move(slot)));
        });
    for (std::size_t i = 0; i < connections.size();) {
      auto& connection = *connections[i];
      Io io = Io::idle;
      if (connection.wants_read()) {
        io = connection.on_readable();
      }
      if (io != Io::closed && connection.wants_write()) {
        Io written = connection.on_writable();
        io = written == Io::idle ? io : written;
      }
      if (io == Io::closed) {
        connections[i] = std::move(connections.back());
        connections.pop_back();
        progressed = true;
        continue;
      }
      progressed = progressed || io == Io::progress;
      ++i;
    }
    // Nothing here waits, so a clock read per pass is all the timeout costs between scans.
    if (idle.due()) {
      std::erase_if(connections, [&](const auto& connection) { return idle.expired(*connection, context.stats); });
    }
    if (!progressed) {
      sched_yield();
    }
  }
  return {};
}

} // namespace netlab::models
