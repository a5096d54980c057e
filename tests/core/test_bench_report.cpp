// bench's report: how the workers' parts add up, when the server counts as absent, and the text,
// JSON and progress lines.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/bench/report.hpp"

using namespace netlab;
using namespace netlab::bench;

namespace {

BenchConfig tcp_config(Mode mode) {
  BenchConfig config;
  config.address = *net::parse_address("127.0.0.1:7");
  config.mode = mode;
  return config;
}

} // namespace

TEST_CASE("bench::merge: counts add up, the longest part is the run's length, the first error stays", "[bench]") {
  BenchResult total;
  BenchResult a;
  a.elapsed_s = 1.5;
  a.messages = 10;
  a.bytes = 640;
  a.connects = 2;
  a.latency.record(1000);
  BenchResult b;
  b.elapsed_s = 2.0;
  b.messages = 5;
  b.errors = 1;
  b.mismatches = 1;
  b.lost = 3;
  b.late = 1;
  b.first_error = "connection 1: reset";
  b.latency.record(3000);
  merge(total, a);
  merge(total, b);
  BenchResult c;
  c.first_error = "connection 2: later";
  merge(total, c);
  CHECK(total.elapsed_s == 2.0);
  CHECK(total.messages == 15);
  CHECK(total.bytes == 640);
  CHECK(total.connects == 2);
  CHECK(total.errors == 1);
  CHECK(total.mismatches == 1);
  CHECK(total.lost == 3);
  CHECK(total.late == 1);
  CHECK(total.latency.count() == 2);
  CHECK(total.first_error == "connection 1: reset");
}

TEST_CASE("bench::server_absent: no TCP connection after errors, or no UDP answer from a refusing port", "[bench]") {
  auto tcp = tcp_config(Mode::rr);
  BenchResult none;
  CHECK_FALSE(server_absent(tcp, none, false)); // nothing tried, nothing failed
  none.errors = 1;
  CHECK(server_absent(tcp, none, false));
  BenchResult some = none;
  some.connects = 1;
  CHECK_FALSE(server_absent(tcp, some, true));

  auto udp = tcp_config(Mode::rr);
  udp.udp = true;
  BenchResult quiet;
  quiet.connects = 1;                            // a UDP socket always "connects"
  CHECK_FALSE(server_absent(udp, quiet, false)); // answers lost, but nothing refused
  CHECK(server_absent(udp, quiet, true));
  quiet.messages = 1;
  CHECK_FALSE(server_absent(udp, quiet, true));
}

TEST_CASE("bench::mode_name: protocol, mode, TLS and open loop", "[bench]") {
  CHECK(mode_name(tcp_config(Mode::rr)) == "tcp rr");
  CHECK(mode_name(tcp_config(Mode::stream)) == "tcp stream");
  CHECK(mode_name(tcp_config(Mode::connect)) == "tcp connect");
  CHECK(mode_name(tcp_config(Mode::handshake)) == "tcp handshake");
  auto open_loop = tcp_config(Mode::rr);
  open_loop.rate = 100;
  CHECK(mode_name(open_loop) == "tcp rr (open loop)");
  auto udp = tcp_config(Mode::rr);
  udp.udp = true;
  CHECK(mode_name(udp) == "udp rr");
}

TEST_CASE("bench::format_text: rates from counts and time, connects/s and UDP loss only where they apply", "[bench]") {
  BenchResult result;
  result.elapsed_s = 2.0;
  result.messages = 1000;
  result.bytes = 4'000'000;
  result.connects = 10;
  CHECK(format_text(tcp_config(Mode::rr), result) ==
        "tcp rr 127.0.0.1:7: 1 conns x 64 B, 2.00 s: 500 msgs/s, 2.00 MB/s; 0 errors");
  CHECK(format_text(tcp_config(Mode::connect), result) ==
        "tcp connect 127.0.0.1:7: 1 conns x 64 B, 2.00 s: 500 msgs/s, 2.00 MB/s, 5 connects/s; 0 errors");
  auto udp = tcp_config(Mode::rr);
  udp.udp = true;
  result.lost = 2;
  result.late = 1;
  result.latency.record(1500);
  auto text = format_text(udp, result);
  CHECK(text.starts_with("udp rr 127.0.0.1:7: 1 conns x 64 B, 2.00 s: 500 msgs/s, 2.00 MB/s; latency p50 1.5 us"));
  CHECK(text.ends_with("; 2 lost, 1 late; 0 errors"));
  BenchResult empty; // no time measured: rates are 0, not a division by zero
  CHECK(format_text(tcp_config(Mode::rr), empty) ==
        "tcp rr 127.0.0.1:7: 1 conns x 64 B, 0.00 s: 0 msgs/s, 0.00 MB/s; 0 errors");
}

TEST_CASE("bench::format_json: every figure under its documented key", "[bench]") {
  BenchResult result;
  result.elapsed_s = 0.5;
  result.messages = 50;
  result.bytes = 3200;
  result.connects = 1;
  result.mismatches = 1;
  result.errors = 1;
  auto object = nlohmann::json::parse(format_json(tcp_config(Mode::stream), result));
  CHECK(object["proto"] == "tcp");
  CHECK(object["tls"] == false);
  CHECK(object["mode"] == "stream");
  CHECK(object["address"] == "127.0.0.1:7");
  CHECK(object["messages"] == 50);
  CHECK(object["msgs_per_s"] == 100.0);
  CHECK(object["bytes"] == 3200);
  CHECK(object["connects_per_s"] == 2.0);
  CHECK(object["mismatches"] == 1);
  CHECK(object["errors"] == 1);
  CHECK(object["latency_us"].contains("p99"));
}

TEST_CASE("bench::progress_text: bytes for streams, round trips otherwise", "[bench]") {
  CHECK(progress_text(tcp_config(Mode::stream), 2.0, 0, 5'000'000) == "2 s: 5.0 MB echoed (2.5 MB/s)");
  CHECK(progress_text(tcp_config(Mode::rr), 2.0, 300, 19'200) == "2 s: 300 msgs (150/s), 0.0 MB echoed");
  auto udp = tcp_config(Mode::stream);
  udp.udp = true;
  CHECK(progress_text(udp, 1.0, 7, 700).starts_with("1 s: 7 msgs"));
}
