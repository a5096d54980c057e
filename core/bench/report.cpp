#include "core/bench/report.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace netlab::bench {
namespace {

double per_second(double count, double seconds) { return seconds > 0 ? count / seconds : 0; }

std::string plain_mode_name(const BenchConfig& config) {
  if (config.udp) {
    return "udp rr";
  }
  switch (config.mode) {
  case Mode::rr:
    return config.rate > 0 ? "tcp rr (open loop)" : "tcp rr";
  case Mode::stream:
    return "tcp stream";
  case Mode::connect:
    return "tcp connect";
  case Mode::handshake:
    return "tcp handshake";
  }
  return "tcp";
}

} // namespace

void merge(BenchResult& total, const BenchResult& part) {
  total.elapsed_s = std::max(total.elapsed_s, part.elapsed_s);
  total.messages += part.messages;
  total.bytes += part.bytes;
  total.connects += part.connects;
  total.errors += part.errors;
  total.mismatches += part.mismatches;
  total.lost += part.lost;
  total.late += part.late;
  total.latency.merge(part.latency);
  if (total.first_error.empty()) {
    total.first_error = part.first_error;
  }
}

bool server_absent(const BenchConfig& config, const BenchResult& total, bool refused) {
  bool nothing_worked = config.udp ? total.messages == 0 && refused : total.connects == 0;
  return nothing_worked && (total.errors > 0 || refused);
}

std::string mode_name(const BenchConfig& config) {
  auto name = plain_mode_name(config);
  return config.tls ? "tls " + name.substr(4) : name; // "tls rr", "tls stream", "tls connect"
}

std::string format_text(const BenchConfig& config, const BenchResult& result) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::string text = fmt::format("{} {}: {} conns x {} B, {:.2f} s: {:.0f} msgs/s, {:.2f} MB/s", mode_name(config),
                                 config.address.to_string(), config.conns, config.size, result.elapsed_s,
                                 per_second(static_cast<double>(result.messages), result.elapsed_s),
                                 per_second(static_cast<double>(result.bytes), result.elapsed_s) / 1e6);
  if ((config.mode == Mode::connect || config.mode == Mode::handshake) && !config.udp) {
    text += fmt::format(", {:.0f} connects/s", per_second(static_cast<double>(result.connects), result.elapsed_s));
  }
  if (result.latency.count() > 0) {
    text += fmt::format("; latency p50 {:.1f} us, p90 {:.1f} us, p99 {:.1f} us, max {:.1f} us",
                        us(result.latency.percentile(50)), us(result.latency.percentile(90)),
                        us(result.latency.percentile(99)), us(result.latency.max()));
  }
  if (config.udp) {
    text += fmt::format("; {} lost, {} late", result.lost, result.late);
  }
  text += fmt::format("; {} errors", result.errors);
  return text;
}

std::string format_json(const BenchConfig& config, const BenchResult& result) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  nlohmann::json object = {
      {"proto", config.udp ? "udp" : "tcp"},
      {"tls", config.tls != nullptr},
      {"mode", config.udp                       ? "rr"
               : config.mode == Mode::rr        ? "rr"
               : config.mode == Mode::stream    ? "stream"
               : config.mode == Mode::handshake ? "handshake"
                                                : "connect"},
      {"address", config.address.to_string()},
      {"conns", config.conns},
      {"size", config.size},
      {"rate", config.rate},
      {"threads", config.threads},
      {"duration_s", result.elapsed_s},
      {"messages", result.messages},
      {"msgs_per_s", per_second(static_cast<double>(result.messages), result.elapsed_s)},
      {"bytes", result.bytes},
      {"mb_per_s", per_second(static_cast<double>(result.bytes), result.elapsed_s) / 1e6},
      {"connects", result.connects},
      {"connects_per_s", per_second(static_cast<double>(result.connects), result.elapsed_s)},
      {"latency_us",
       {{"p50", us(result.latency.percentile(50))},
        {"p90", us(result.latency.percentile(90))},
        {"p99", us(result.latency.percentile(99))},
        {"max", us(result.latency.max())},
        {"mean", result.latency.mean() / 1000.0}}},
      {"errors", result.errors},
      {"mismatches", result.mismatches},
      {"lost", result.lost},
      {"late", result.late},
  };
  return object.dump();
}

std::string progress_text(const BenchConfig& config, double elapsed_s, std::uint64_t messages, std::uint64_t bytes) {
  if (config.mode == Mode::stream && !config.udp) {
    return fmt::format("{:.0f} s: {:.1f} MB echoed ({:.1f} MB/s)", elapsed_s, static_cast<double>(bytes) / 1e6,
                       static_cast<double>(bytes) / 1e6 / elapsed_s);
  }
  return fmt::format("{:.0f} s: {} msgs ({:.0f}/s), {:.1f} MB echoed", elapsed_s, messages,
                     static_cast<double>(messages) / elapsed_s, static_cast<double>(bytes) / 1e6);
}

} // namespace netlab::bench
