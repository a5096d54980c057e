// The load generator's run: resolve once, spread the connections over worker threads (each with
// its own loop, tcp_worker.cpp or udp_worker.cpp), catch Ctrl-C, add up what they measured.
#include "core/bench/bench.hpp"

#include <signal.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/bench/report.hpp"
#include "core/bench/worker.hpp"
#include "core/loop/process.hpp"
#include "core/loop/udp.hpp"
#include "core/util/error.hpp"

namespace netlab::bench {
namespace {

BenchResult measure(const BenchConfig& config) {
  BenchResult result;
  auto endpoints = net::resolve(config.address, config.udp ? SOCK_DGRAM : SOCK_STREAM);
  if (!endpoints) {
    result.connect_failed = true;
    result.first_error = endpoints.error();
    return result;
  }
  const auto& endpoint = endpoints->front();
  if (config.udp) {
    auto limit = loop::Udp::max_datagram(endpoint.family());
    if (config.size > limit) {
      throw UsageError(fmt::format("a {}-byte message is over the {}-byte UDP limit to {}", config.size, limit,
                                   endpoint.to_string()));
    }
  }
  prepare_pattern();
  RunState shared;
  int threads = std::max(1, std::min(config.threads, config.conns));
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    std::vector<int> indexes;
    for (int i = t; i < config.conns; i += threads) {
      indexes.push_back(i);
    }
    bool progress = t == 0 && config.progress;
    workers.push_back(config.udp ? make_udp_worker(config, endpoint, shared, indexes, progress)
                                 : make_tcp_worker(config, endpoint, shared, indexes, progress));
  }
  // Ctrl-C (or TERM) ends the run early but keeps what was measured, as wrk and iperf3 do.
  clear_interrupt();
  struct sigaction action {};
  action.sa_handler = record_interrupt;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  std::vector<std::thread> running;
  for (int t = 1; t < threads; ++t) {
    running.emplace_back([worker = workers[t].get()] { worker->run(); });
  }
  workers[0]->run();
  for (auto& thread : running) {
    thread.join();
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  result.interrupt_signal = shared.interrupt_signal.load() != 0 ? shared.interrupt_signal.load() : recorded_interrupt();
  if (auto* progress = workers[0]->progress()) {
    progress->clear();
  }
  bool refused = false;
  for (auto& worker : workers) {
    merge(result, worker->result());
    refused = refused || worker->connect_refused();
  }
  result.connect_failed = server_absent(config, result, refused);
  return result;
}

} // namespace

Result<void> check_rate(double rate) {
  if (!(rate >= 0) || rate > k_max_rate) {
    return fail(
        fmt::format("must be from 0 (closed loop) to {:.0f} messages/s per connection (got {})", k_max_rate, rate));
  }
  return {};
}

Result<BenchResult> run_bench(const BenchConfig& config) {
  if (auto rate = check_rate(config.rate); !rate) {
    return fail_exit(k_exit_usage, "--rate: " + rate.error());
  }
  NETLAB_TRY(auto result, catch_failure([&] { return measure(config); }));
  if (result.connect_failed) {
    return fail_exit(k_exit_connect, result.first_error);
  }
  return result;
}

Result<void> verdict(const BenchResult& result) {
  if (result.interrupt_signal != 0) {
    // The summary covers what ran; the status says it was cut short (130 INT, 143 TERM).
    return fail_exit(signal_exit_status(result.interrupt_signal),
                     fmt::format("interrupted by SIG{} after {:.2f} s", loop::signal_name(result.interrupt_signal),
                                 result.elapsed_s));
  }
  if (result.errors > 0 || result.mismatches > 0) {
    return fail(
        fmt::format("{} error(s), {} mismatch(es); first: {}", result.errors, result.mismatches, result.first_error));
  }
  if (result.messages == 0) {
    return fail("no message completed a round trip");
  }
  return {};
}

} // namespace netlab::bench
