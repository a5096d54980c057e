// The table of models and the run sequence every classic model shares.
#include <optional>

#include "core/loop/process.hpp"
#include "core/models/model.hpp"
#include "core/models/accept.hpp"
#include "core/models/stop_signal.hpp"
#include "core/util/fs.hpp"
#include "core/util/log.hpp"

namespace netlab::models {
namespace {

const Model k_models[] = {
    {"blocking", "one client at a time; the others wait in the backlog", &serve_blocking},
    {"threads", "a thread per client, each blocking", &serve_threads},
    {"nonblocking", "non-blocking sockets polled in a busy loop (watch the CPU)", &serve_nonblocking},
    {"select", "select(2), refusing descriptors past FD_SETSIZE", &serve_select},
    {"poll", "poll(2) over a pollfd array", &serve_poll},
    {"epoll", "level-triggered epoll(7)", &serve_epoll},
    {"uv", "netlab's libuv echo service (the echo-server code)", nullptr},
};

} // namespace

std::span<const Model> all_models() { return k_models; }

const Model* find_model(std::string_view name) {
  for (const auto& model : k_models) {
    if (model.name == name) {
      return &model;
    }
  }
  return nullptr;
}

Result<void> run_model(const Model& model, const ModelConfig& config) {
  Stats stats;
  // The uv model hands the file to net::run_server, which keeps it the same way.
  fs::PortFile port_file(model.serve == nullptr ? std::string() : config.port_file);
  // SIGUSR1 prints the stats line whether or not --stats was given: its default action would
  // kill the server, and the help teaches `kill -USR1`.
  std::optional<Usr1Reporter> reporter;
  reporter.emplace([&stats, &model] { log::line(stats.summary(model.name)); });
  Result<void> served;
  if (model.serve == nullptr) {
    served = run_uv_model(config, stats);
  } else {
    // Signals are caught before listening, so a script that sends SIGTERM as soon as it sees
    // `listening on` always gets a graceful stop.
    StopSignal stop(true);
    fs::raise_fd_limit();
    NETLAB_TRY(auto listener, listen_on(config.address));
    // The port file first: a script that saw `listening on` can read it at once.
    NETLAB_TRY_VOID(port_file.write(std::to_string(listener.bound.port())));
    log::info("listening on {}", listener.bound.to_string());
    net::AccessGate gate(config.access);
    ModelContext context{config, listener.fd.get(), stop, stats, &gate};
    served = model.serve(context);
    if (int signum = stop.signal_number(); signum != 0) {
      log::info("SIG{} received, shutting down", loop::signal_name(signum));
    }
  }
  reporter.reset();
  if (config.stats) {
    log::line(stats.summary(model.name));
  }
  return served;
}

} // namespace netlab::models
