// A stop-and-wait client on a plain connected UDP socket: connecting makes the kernel drop
// datagrams from anyone but the server and turns an ICMP port-unreachable into ECONNREFUSED.
#include "core/udp/udp_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "core/loop/udp.hpp"
#include "core/net/socket.hpp"
#include "core/util/error.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::udp {
namespace {

// Reads lines from a descriptor without stdio, so binary input is passed through untouched.

Fd open_connected(const net::Address& address) {
  auto endpoints = net::resolve(address, SOCK_DGRAM);
  if (!endpoints) {
    throw ConnectError(endpoints.error());
  }
  int last_error = 0;
  for (const auto& endpoint : *endpoints) {
    Fd fd(::socket(endpoint.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_error = errno;
      continue;
    }
    if (::connect(fd.get(), endpoint.sa(), endpoint.length) == 0) {
      return fd;
    }
    last_error = errno;
  }
  throw ConnectError(sys_message("connect", address.to_string(), last_error));
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

} // namespace

bool reply_matches(std::string_view request, std::string_view reply) {
  if (request.size() != reply.size()) {
    return false;
  }
  for (std::size_t i = 0; i < request.size(); ++i) {
    if (request[i] != reply[i] && upper(request[i]) != reply[i]) {
      return false;
    }
  }
  return true;
}

namespace {

ClientReport udp_client(const UdpClientConfig& options) {
  auto fd = open_connected(options.address);
  ClientReport report;
  LineReader reader(options.in_fd);
  std::string line;
  std::deque<std::string> recent;
  sockaddr_storage local{};
  socklen_t local_length = sizeof(local);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_length);
  const std::size_t limit = loop::Udp::max_datagram(local.ss_family);
  // One byte over the limit, so MSG_TRUNC can tell a cut datagram from a full one.
  std::string buffer(limit + 1, '\0');
  std::uint64_t line_number = 0;
  while (reader.next(line)) {
    ++line_number;
    if (line.size() > limit) {
      ++report.too_large;
      log::info("line {}: {} bytes is over the {}-byte UDP limit; not sent", line_number, line.size(), limit);
      continue;
    }
    ++report.sent;
    bool answered = false;
    bool differed = false;
    for (int attempt = 0; attempt <= options.retries && !answered; ++attempt) {
      if (attempt > 0) {
        ++report.retries;
      }
      if (::send(fd.get(), line.data(), line.size(), 0) < 0) {
        if (errno != ECONNREFUSED) {
          throw Error(sys_message("send to", options.address.to_string(), errno));
        }
        ++report.refused;
      }
      auto deadline = net::deadline_after(options.timeout);
      while (net::wait_for(fd.get(), POLLIN, deadline)) {
        ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), MSG_TRUNC);
        if (n < 0) {
          if (errno == EINTR || errno == EAGAIN) {
            continue;
          }
          // Nobody listens there (ICMP port unreachable): this attempt is lost; keep waiting out
          // the timeout, so a server that is starting up gets its chance before the retry.
          if (errno == ECONNREFUSED) {
            ++report.refused;
            continue;
          }
          throw Error(sys_message("receive from", options.address.to_string(), errno));
        }
        auto size = static_cast<std::size_t>(n);
        if (size > buffer.size()) {
          ++report.truncated;
          log::info("line {}: reply of {} bytes truncated", line_number, size);
          answered = true;
          break;
        }
        std::string_view reply(buffer.data(), size);
        if (!reply_matches(line, reply)) {
          bool earlier = std::any_of(recent.begin(), recent.end(),
                                     [&](const std::string& sent) { return reply_matches(sent, reply); });
          if (earlier) {
            ++report.late; // an answer to an earlier send that came after its timeout
          } else if (!differed) {
            differed = true;
            log::info("line {}: the reply differs from what was sent ({} bytes back for {})", line_number, size,
                      line.size());
          }
          continue;
        }
        write_all_or_throw(options.out_fd, std::string(reply) + "\n");
        ++report.answered;
        answered = true;
        break;
      }
    }
    if (!answered) {
      (differed ? report.differed_lines : report.lost_lines).push_back(line_number);
    }
    // The last few lines sent, to tell a late echo from a wrong one.
    recent.push_back(line);
    if (recent.size() > 16) {
      recent.pop_front();
    }
  }
  return report;
}

} // namespace

Result<ClientReport> run_udp_client(const UdpClientConfig& options) {
  return catch_failure([&] { return udp_client(options); });
}

} // namespace netlab::udp
