// Is a TCP address accepting connections? One probe per address, optionally retried until a
// deadline ("wait for the port"), like `nc -z` with timings.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/net/address.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"

namespace netlab::probe {

struct ProbeConfig {
  std::vector<net::Address> addresses;
  // How long one connection attempt may take.
  Seconds timeout{1.0};
  // How long to keep retrying closed addresses; none (--wait not given): a single round.
  std::optional<Seconds> wait;
  // Time between rounds while waiting: short enough to notice a server quickly, long enough not
  // to hammer it.
  Seconds interval{0.1};
  // Also complete a TLS handshake with this client context (null: TCP only); the certificate is
  // checked for `sni` when given, else for the address's host.
  std::shared_ptr<tls::Context> tls;
  std::string sni;
  // With TLS: a peer certificate expiring in fewer whole days than this fails the probe (-1: off).
  long min_days = -1;
  // Instead of `addresses`: the address a netlab server writes to this --port-file once
  // listening, read again before every attempt (a server started a moment ago may not yet have
  // replaced the stale file of an earlier run).
  std::string port_file;
};

struct ProbeResult {
  std::string address;
  bool open = false;
  // Time the successful (or last failed) attempt took.
  double connect_ms = 0;
  // Why it is closed: "connection refused", "timed out", ...; empty when open.
  std::string reason;
  int attempts = 0;
  // With --tls, once the handshake completed: what was negotiated and the peer certificate.
  bool tls = false;
  std::string tls_version;
  std::string tls_cipher;
  std::string subject;
  std::string not_after;
  long days_left = 0;
  double handshake_ms = 0;
  // The handshake failed (reason says why) although the port accepted the connection.
  bool tls_failed = false;
  // The certificate expires in fewer than --min-days days.
  bool expires_soon = false;
  bool ok() const { return open && !expires_soon; }
};

struct ProbeReport {
  std::vector<ProbeResult> results;
  // --wait was given and its deadline passed with some address still closed.
  bool wait_expired = false;
  bool all_open() const;
  // probe's exit status: 0 all open, 124 --wait ran out, else 1.
  int exit_status() const;
};

// One attempt, bounded by `timeout` (connect and TLS handshake together).
ProbeResult probe_once(const net::Address& address, Seconds timeout, const ProbeConfig& options = {});

// Probes `options.addresses` (or the address in `options.port_file`), retrying closed ones
// until `options.wait` runs out. Fails only in port-file mode, as wait_for_port_file does when the
// file never appears (exit code 124 when --wait ran out) or holds no address.
Result<ProbeReport> run_probe(const ProbeConfig& options);

// Waits until a server's --port-file exists and holds an address, reading it every `interval`,
// for at most `wait` (none: look once, failing with ENOENT). The file holds a port ("8080", meaning
// 127.0.0.1:8080) or "unix:/path", then a newline; netlab's servers write it atomically once
// listening and remove a stale one before binding, so what is read is a live server's. Fails with
// code ETIMEDOUT ("--port-file F: not written within 5s"), at once with EINVAL for something that
// cannot be a port file (not a regular file, such as a FIFO or /dev/zero, or over 4 KiB), or, for
// content that is not an address, with parse_address's message.
Result<net::Address> wait_for_port_file(const std::string& path, std::optional<Seconds> wait,
                                        Seconds interval = Seconds(0.05));

// "127.0.0.1:8080 open 0.21 ms" / "127.0.0.1:8081 closed (connection refused)";
// with TLS "127.0.0.1:8443 open 0.21 ms TLSv1.3 certificate expires in 29 days (2026-12-30 ...)"
// or "127.0.0.1:8443 tls-failed (certificate of 127.0.0.1 not trusted: ...)".
std::string format_text(const ProbeResult& result);
// One JSON object, for --json.
std::string format_json(const ProbeResult& result);

} // namespace netlab::probe
