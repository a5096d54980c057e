// netlab select-server: an echo server on the IO model you choose, with stats to compare them.
#include <CLI/CLI.hpp>

#include "cmd/common.hpp"
#include "cmd/registry.hpp"
#include "core/models/model.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {
namespace {

struct Options {
  std::string address = "127.0.0.1:8080";
  std::string model = "uv";
  bool upper = false;
  std::size_t max_conns = 10000;
  AccessOptions access;
  double idle_timeout_s = 300;
  std::string port_file;
  bool stats = false;
};

int run_select_server(const Options& options) {
  const auto* model = models::find_model(options.model);
  if (model == nullptr) {
    throw UsageError("unknown model '" + options.model + "'");
  }
  models::ModelConfig config;
  config.address = parse_address_arg(options.address, {.allow_unix = model->serve == nullptr, .allow_port_zero = true});
  config.upper = options.upper;
  config.max_conns = options.max_conns;
  config.access = access_policy(options.access, config.address);
  config.idle_timeout = Seconds(options.idle_timeout_s);
  config.port_file = options.port_file;
  config.stats = options.stats;
  value_or_throw(models::run_model(*model, config));
  return k_exit_ok;
}

} // namespace

Runner setup_select_server(CLI::App& app) {
  auto options = std::make_shared<Options>();
  std::vector<std::string> names;
  std::string model_help = "IO model:";
  for (const auto& model : models::all_models()) {
    names.emplace_back(model.name);
    model_help += "\n  " + std::string(model.name) + ": " + std::string(model.summary);
  }
  app.add_option("ADDR", options->address, "address to listen on: HOST:PORT, [IPv6]:PORT or PORT")
      ->capture_default_str();
  app.add_option("--model", options->model, model_help)
      ->type_name("MODEL")
      ->capture_default_str()
      ->check(CLI::IsMember(names));
  app.add_flag("--upper", options->upper, "upper-case ASCII letters in the echo");
  add_connection_limits(app, options->max_conns, options->access, options->idle_timeout_s);
  add_port_file(app, options->port_file);
  app.add_flag("--stats", options->stats,
               "print connections, reads, bytes (per second too) and CPU time on exit (SIGUSR1 prints "
               "them at any time, with or without --stats)");
  set_example(app, "  netlab select-server 0 --model epoll --stats --port-file select.port &\n"
                   "  netlab probe --wait 5 --port-file select.port\n"
                   "  netlab bench tcp \"$(cat select.port)\" --conns 10 --duration 2; kill -USR1 $!");
  return [options] { return run_select_server(*options); };
}

} // namespace netlab::cmd
