// The uv model: netlab's own echo service on the shared libuv server, for comparison with the
// hand-written models. Connections are counted by wrapping the service, reads and bytes by the
// echo service's on_echo hook.
#include "core/echo/echo_service.hpp"
#include "core/models/model.hpp"
#include "core/net/server.hpp"

namespace netlab::models {
namespace {

class CountingService : public net::Service {
public:
  CountingService(std::unique_ptr<net::Service> inner, Stats& stats) : m_inner(std::move(inner)), m_stats(stats) {}
  void on_connection(const std::shared_ptr<net::Connection>& connection) override {
    m_stats.connection();
    m_inner->on_connection(connection);
  }
  void on_stop() override { m_inner->on_stop(); }

private:
  std::unique_ptr<net::Service> m_inner;
  Stats& m_stats;
};

} // namespace

Result<void> run_uv_model(const ModelConfig& config, Stats& stats) {
  net::ServerConfig server;
  server.address = config.address;
  server.port_file = config.port_file;
  server.limits.max_conns = config.max_conns;
  server.access = config.access;
  server.limits.idle_timeout = config.idle_timeout;
  stats.set_counts_idle(false);
  echo::EchoServiceConfig echo_options;
  echo_options.upper = config.upper;
  echo_options.max_buffered = config.max_buffered;
  // The echo writes what it read, so one count serves both directions.
  echo_options.on_echo = [&stats](std::size_t bytes) {
    stats.read(bytes);
    stats.wrote(bytes);
  };
  return net::run_server(server, [echo_options, &stats](loop::Loop& loop) {
    return std::make_unique<CountingService>(echo::make_echo_service(loop, echo_options), stats);
  });
}

} // namespace netlab::models
