// select-server's IO models: one echo server per classic way of waiting for sockets, each in its
// own file, picked by name from one table.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "core/models/stats.hpp"
#include "core/net/access.hpp"
#include "core/net/address.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::models {

struct ModelConfig {
  net::Address address;
  bool upper = false;
  std::size_t max_conns = 10000;
  // Time without progress in either direction before a connection is closed; 0 disables.
  Seconds idle_timeout{300};
  net::AccessPolicy access;
  std::string port_file;
  // Print the counters on exit and on SIGUSR1.
  bool stats = false;
  // Echoed bytes a peer has not read yet before we stop reading from it.
  std::size_t max_buffered = 256 * 1024;
};

class StopSignal;

// What a classic model gets: a listening socket and a descriptor that becomes readable (and
// stays readable) once the server must stop.
struct ModelContext {
  const ModelConfig& config;
  int listen_fd;
  StopSignal& stop;
  Stats& stats;
  // Who may connect; null lets everyone in.
  net::AccessGate* access = nullptr;
};

using ServeFunction = Result<void> (*)(ModelContext& context);

struct Model {
  std::string_view name;
  std::string_view summary;
  // Null for the uv model, which runs on the shared libuv server instead of a plain socket.
  ServeFunction serve;
};

// Every model, in the order `--help` lists them.
std::span<const Model> all_models();
const Model* find_model(std::string_view name);

// Each classic model's entry point (one file each).
Result<void> serve_blocking(ModelContext& context);
Result<void> serve_threads(ModelContext& context);
Result<void> serve_nonblocking(ModelContext& context);
Result<void> serve_select(ModelContext& context);
Result<void> serve_poll(ModelContext& context);
Result<void> serve_epoll(ModelContext& context);
// The uv model: netlab's echo service on net::run_server.
Result<void> run_uv_model(const ModelConfig& config, Stats& stats);

// Listens, prints `listening on ADDR`, writes the port file, serves until SIGINT/SIGTERM and
// prints the stats if asked.
Result<void> run_model(const Model& model, const ModelConfig& config);

} // namespace netlab::models
