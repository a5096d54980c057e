// Probing: connect_stream with a deadline per attempt, rounds until everything is open.
#include "core/probe/probe.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/net/socket.hpp"
#include "core/tls/blocking.hpp"
#include "core/util/fd.hpp"
#include "core/util/sys_error.hpp"
#include "core/util/units.hpp"

namespace netlab::probe {
namespace {

std::string reason_for(int code, const std::string& message) {
  if (code == ETIMEDOUT) {
    return "timed out";
  }
  if (code == 0) {
    // Not an errno failure (resolving the host): the message says it best.
    return message;
  }
  return sys_reason(code);
}

// An attempt squeezed by the --wait deadline still gets this long.
constexpr Seconds k_least_attempt{0.001};

double ms_since(net::Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(net::Clock::now() - start).count();
}

} // namespace

int ProbeReport::exit_status() const {
  if (all_open()) {
    return k_exit_ok;
  }
  return wait_expired ? k_exit_timeout : k_exit_failure;
}

bool ProbeReport::all_open() const {
  for (const auto& result : results) {
    if (!result.ok()) {
      return false;
    }
  }
  return true;
}

namespace {

// Completes a TLS handshake on `fd` and records what the peer presented; says goodbye properly.
void probe_tls(int fd, const net::Address& address, const net::Deadline& deadline, const ProbeConfig& options,
               ProbeResult& result) {
  auto start = net::Clock::now();
  auto session = tls::Session::client(options.tls, address.host, options.sni);
  if (!session) {
    result.open = false;
    result.tls_failed = true;
    result.reason = session.error();
    return;
  }
  std::string ignored;
  auto done = tls::handshake(fd, **session, ignored, deadline);
  result.handshake_ms = ms_since(start);
  if (!done) {
    result.open = false;
    result.tls_failed = true;
    result.reason = done.code() == ETIMEDOUT ? "TLS handshake timed out" : done.error();
    return;
  }
  auto info = (*session)->info();
  result.tls = true;
  result.tls_version = info.version;
  result.tls_cipher = info.cipher;
  if (!info.chain.empty()) {
    result.subject = info.chain.front().subject;
    result.not_after = info.chain.front().not_after;
    result.days_left = info.chain.front().days_left;
    result.expires_soon = options.min_days >= 0 && result.days_left < options.min_days;
  }
  (*session)->close_notify();
  (void)tls::flush(fd, **session, deadline);
}

} // namespace

ProbeResult probe_once(const net::Address& address, Seconds timeout, const ProbeConfig& options) {
  ProbeResult result;
  result.address = address.to_string();
  result.attempts = 1;
  auto start = net::Clock::now();
  auto deadline = net::deadline_after(timeout);
  auto connected = net::connect_stream(address, deadline);
  result.connect_ms = ms_since(start);
  if (connected) {
    // Without TLS the descriptor is only proof of the handshake; it closes without a byte sent.
    Fd fd(*connected);
    result.open = true;
    if (options.tls) {
      probe_tls(fd.get(), address, deadline, options, result);
    }
  } else {
    result.reason = reason_for(connected.code(), connected.error());
  }
  return result;
}

namespace {

ProbeReport probe_addresses(const ProbeConfig& options) {
  ProbeReport report;
  for (const auto& address : options.addresses) {
    ProbeResult pending;
    pending.address = address.to_string();
    report.results.push_back(pending);
  }
  // Assigned rather than chosen by ?:, which GCC 12 takes for a read of an uninitialised optional.
  net::Deadline wait_deadline;
  if (options.wait) {
    wait_deadline = net::deadline_after(*options.wait);
  }
  bool waiting = options.wait.has_value();
  while (true) {
    bool any_closed = false;
    for (std::size_t i = 0; i < options.addresses.size(); ++i) {
      auto& result = report.results[i];
      if (result.ok()) {
        continue;
      }
      // An attempt never runs past the --wait deadline, so --wait 2 means 2 s, not 2 s + timeout.
      Seconds timeout = options.timeout;
      if (waiting && wait_deadline) {
        Seconds left = *wait_deadline - net::Clock::now();
        timeout = std::max(k_least_attempt, std::min(timeout, left));
      }
      int attempts = result.attempts;
      result = probe_once(options.addresses[i], timeout, options);
      result.attempts = attempts + 1;
      any_closed = any_closed || !result.ok();
    }
    if (!any_closed || !waiting) {
      return report;
    }
    auto now = net::Clock::now();
    if (!wait_deadline || now >= *wait_deadline) {
      report.wait_expired = true;
      return report;
    }
    auto pause = std::chrono::duration_cast<net::Clock::duration>(options.interval);
    // The round after the last pause runs at the deadline, so a server that came up during the
    // pause still counts.
    std::this_thread::sleep_for(std::min(pause, *wait_deadline - now));
  }
}

// Probes the address in a --port-file until it is open or `options.wait` runs out, reading the
// file again before every attempt: a server started a moment ago may not yet have replaced the
// stale file of an earlier run.
Result<ProbeReport> probe_port_file(const std::string& path, const ProbeConfig& options) {
  auto deadline = net::time_after(options.wait.value_or(Seconds::zero()));
  auto left = [&] { return Seconds(deadline - net::Clock::now()); };
  while (true) {
    auto found =
        wait_for_port_file(path, options.wait ? std::optional(std::max(Seconds::zero(), left())) : std::nullopt);
    if (!found && found.code() == ETIMEDOUT) {
      return fail_exit(k_exit_timeout,
                       fmt::format("--port-file {}: not written within {}", path,
                                   units::format_duration(options.wait->count())),
                       ETIMEDOUT);
    }
    NETLAB_TRY(auto address, std::move(found));
    ProbeReport report;
    Seconds timeout = !options.wait ? options.timeout : std::max(k_least_attempt, std::min(options.timeout, left()));
    auto result = probe_once(address, timeout);
    result.attempts = 1;
    report.results.push_back(result);
    if (result.open || !options.wait) {
      return report;
    }
    if (left() <= Seconds::zero()) {
      report.wait_expired = true;
      return report;
    }
    std::this_thread::sleep_for(std::min(options.interval, left()));
  }
}

} // namespace

Result<ProbeReport> run_probe(const ProbeConfig& options) {
  if (!options.port_file.empty()) {
    return probe_port_file(options.port_file, options);
  }
  return probe_addresses(options);
}

std::string format_text(const ProbeResult& result) {
  if (result.open && result.tls) {
    return fmt::format("{} open {:.2f} ms {} certificate expires in {} days ({}){}", result.address, result.connect_ms,
                       result.tls_version, result.days_left, result.not_after,
                       result.expires_soon ? ", fewer than --min-days" : "");
  }
  if (result.open) {
    return fmt::format("{} open {:.2f} ms", result.address, result.connect_ms);
  }
  if (result.tls_failed) {
    return fmt::format("{} tls-failed ({})", result.address, result.reason);
  }
  return fmt::format("{} closed ({})", result.address, result.reason);
}

std::string format_json(const ProbeResult& result) {
  nlohmann::json object = {
      {"address", result.address},   {"state", result.open ? "open" : result.tls_failed ? "tls-failed" : "closed"},
      {"open", result.open},         {"connect_ms", std::round(result.connect_ms * 1000) / 1000},
      {"attempts", result.attempts},
  };
  if (!result.open) {
    object["reason"] = result.reason;
  }
  if (result.tls) {
    object["tls"] = {
        {"version", result.tls_version},
        {"cipher", result.tls_cipher},
        {"handshake_ms", std::round(result.handshake_ms * 1000) / 1000},
        {"subject", result.subject},
        {"not_after", result.not_after},
        {"days_left", result.days_left},
        {"expires_soon", result.expires_soon},
    };
  }
  return object.dump();
}

namespace {

// A port file holds a port or a unix socket's path and a newline: anything longer is not one.
constexpr std::size_t k_port_file_limit = 4096;

// The port file's content; ENOENT while it is not there yet. Something other than a regular file
// at the path (a FIFO would block the open past --wait, a device such as /dev/zero never end) or
// a file longer than k_port_file_limit fails with EINVAL.
Result<std::string> read_port_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    return sys_failure("read", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_failure("stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(fmt::format("--port-file {}: not a regular file", path), EINVAL);
  }
  std::string content(k_port_file_limit + 1, '\0');
  std::size_t size = 0;
  while (size < content.size()) {
    ssize_t n = ::read(fd.get(), content.data() + size, content.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return sys_failure("read", path, errno);
    }
    if (n == 0) {
      break;
    }
    size += static_cast<std::size_t>(n);
  }
  if (size > k_port_file_limit) {
    return fail(fmt::format("--port-file {}: longer than {} bytes, not a port file", path, k_port_file_limit), EINVAL);
  }
  content.resize(size);
  return content;
}

} // namespace

Result<net::Address> wait_for_port_file(const std::string& path, std::optional<Seconds> wait, Seconds interval) {
  auto deadline = net::time_after(wait.value_or(Seconds::zero()));
  while (true) {
    auto content = read_port_file(path);
    if (!content && content.code() == EINVAL) {
      return content.failure();
    }
    if (content && !content->empty() && content->back() == '\n') {
      auto text = content->substr(0, content->size() - 1);
      auto address = net::parse_address(text, {.allow_unix = true, .allow_port_zero = false});
      if (!address) {
        return fail(fmt::format("--port-file {}: {}", path, address.error()));
      }
      return address;
    }
    if (!wait || net::Clock::now() >= deadline) {
      return fail(!wait ? fmt::format("--port-file {}: not there (add --wait SECONDS to wait for it)", path)
                        : fmt::format("--port-file {}: not written within {}", path,
                                      units::format_duration(wait->count())),
                  !wait ? ENOENT : ETIMEDOUT);
    }
    std::this_thread::sleep_for(interval);
  }
}

} // namespace netlab::probe
