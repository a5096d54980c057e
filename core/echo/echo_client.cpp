// Echo client. Line mode sends a line and prints the reply line; raw mode is a bidirectional
// copy that half-closes at end of input and keeps printing until the server closes, so no
// reply is ever cut off.
#include "core/echo/echo_client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/net/socket.hpp"
#include "core/tls/blocking.hpp"
#include "core/util/error.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::echo {
namespace {

constexpr std::size_t k_chunk = 64 * 1024;

[[noreturn]] void raise_io(const Failure& failure, const std::string& what) {
  if (failure.code == ETIMEDOUT) {
    throw TimeoutError(fmt::format("{}: {}", what, failure.message));
  }
  throw Error(fmt::format("{}: {}", what, failure.message));
}

Fd connect(const EchoClientConfig& options) {
  auto fd = net::connect_stream(options.address, net::deadline_after(options.timeout));
  if (!fd) {
    if (fd.code() == ETIMEDOUT) {
      throw TimeoutError(fd.error());
    }
    throw ConnectError(fd.error());
  }
  return Fd(*fd);
}

// The connection: plain bytes on `fd`, or TLS over it when `tls` is set.
struct Link {
  int fd = -1;
  tls::Session* tls = nullptr;

  void send(std::string_view data, const net::Deadline& deadline) {
    auto sent = tls != nullptr ? tls::send(fd, *tls, data, deadline) : net::send_all(fd, data, deadline);
    if (!sent) {
      raise_io(sent.failure(), "send");
    }
  }
};

// Sends one line and copies the reply, up to and including its newline, to `out_fd` as it
// arrives: a server that sends without ever ending the line costs one read's worth of memory, not
// all it sent. Bytes after the newline stay in `pending` for the next reply.
void exchange(Link& link, const std::string& line, std::string& pending, Seconds timeout, int out_fd) {
  int fd = link.fd;
  auto deadline = net::deadline_after(timeout);
  link.send(line + "\n", deadline);
  bool printed = false;
  while (true) {
    auto newline = pending.find('\n');
    if (newline != std::string::npos) {
      write_all_or_throw(out_fd, std::string_view(pending).substr(0, newline + 1));
      pending.erase(0, newline + 1);
      return;
    }
    if (!pending.empty()) {
      write_all_or_throw(out_fd, pending);
      pending.clear();
      printed = true;
    }
    if (!net::wait_for(fd, POLLIN, deadline)) {
      throw TimeoutError(fmt::format("no reply within {}s", timeout.count()));
    }
    bool open = true;
    if (link.tls != nullptr) {
      auto received = tls::receive(fd, *link.tls, pending, deadline);
      if (!received) {
        raise_io(received.failure(), "receive");
      }
      open = *received;
    } else {
      char chunk[k_chunk];
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n < 0) {
        throw Error(sys_message("receive", "", errno));
      }
      open = n > 0;
      pending.append(chunk, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    }
    if (!open && pending.find('\n') == std::string::npos) {
      // The server closed: whatever arrived is its last word.
      if (pending.empty() && !printed) {
        throw Error("server closed the connection");
      }
      write_all_or_throw(out_fd, pending);
      pending.clear();
      return;
    }
  }
}

// Waits until a line can be read or the server has closed; throws in the second case, so a user
// at the prompt learns at once rather than after typing the next line.
void wait_for_input(const EchoClientConfig& options, int fd) {
  while (true) {
    pollfd fds[2] = {{options.in_fd, POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[1].revents != 0) {
      char byte = 0;
      ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        // Ends the prompt's line; the error below is what the user needs, whether or not it is written.
        (void)write_all(options.prompt_fd, "\n", "stderr");
        throw Error("server closed the connection");
      }
    }
    if (fds[0].revents != 0) {
      return;
    }
  }
}

extern "C" void end_prompt_line(int signum) {
  // Ctrl-C at the prompt: the shell's prompt should start on a fresh line. Then die of the
  // signal as the shell expects (status 130).
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, "\n", 1);
  ::signal(signum, SIG_DFL);
  ::raise(signum);
}

void run_lines(const EchoClientConfig& options, Link& link, std::string pending) {
  if (!options.messages.empty()) {
    for (const auto& message : options.messages) {
      exchange(link, message, pending, options.timeout, options.out_fd);
    }
    return;
  }
  LineReader reader(options.in_fd);
  std::string line;
  if (options.interactive) {
    ::signal(SIGINT, end_prompt_line);
  }
  while (true) {
    if (options.interactive) {
      write_all_or_throw(options.prompt_fd, ">>: ");
      // Over TLS the socket carries records, not the server's bytes: a peek cannot tell a
      // close_notify from data, so only a plain connection is watched while at the prompt.
      if (link.tls == nullptr) {
        wait_for_input(options, link.fd);
      }
    }
    if (!reader.next(line)) {
      if (options.interactive) {
        write_all_or_throw(options.prompt_fd, "\n");
      }
      return;
    }
    if (options.interactive && line.empty()) {
      continue;
    }
    exchange(link, line, pending, options.timeout, options.out_fd);
  }
}

void run_raw(const EchoClientConfig& options, Link& link, const std::string& early) {
  int fd = link.fd;
  bool input_open = true;
  std::string to_socket;
  write_all_or_throw(options.out_fd, early);
  char chunk[k_chunk];
  while (true) {
    pollfd fds[2] = {{fd, static_cast<short>(POLLIN | (to_socket.empty() ? 0 : POLLOUT)), 0},
                     {options.in_fd, static_cast<short>(input_open && to_socket.empty() ? POLLIN : 0), 0}};
    int rc = ::poll(fds, input_open && to_socket.empty() ? 2 : 1,
                    options.timeout > Seconds::zero() ? poll_ms(options.timeout) : -1);
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc == 0) {
      throw TimeoutError(fmt::format("no data either way for {}s", options.timeout.count()));
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && link.tls != nullptr) {
      std::string plain;
      auto open = tls::receive(fd, *link.tls, plain, {});
      write_all_or_throw(options.out_fd, plain);
      if (!open) {
        raise_io(open.failure(), "receive");
      }
      if (!*open) {
        return; // close_notify: everything the server sent has been printed
      }
    } else if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n == 0) {
        return; // the server closed: everything it sent has been printed
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        throw Error(sys_message("receive", "", errno));
      }
      if (n > 0) {
        write_all_or_throw(options.out_fd, std::string_view(chunk, static_cast<std::size_t>(n)));
      }
    }
    if (!to_socket.empty() && (fds[0].revents & POLLOUT)) {
      ssize_t n = ::send(fd, to_socket.data(), to_socket.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to_socket.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        throw Error(sys_message("send", "", errno));
      }
      if (to_socket.empty() && !input_open) {
        ::shutdown(fd, SHUT_WR);
      }
    }
    if (input_open && to_socket.empty() && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = ::read(options.in_fd, chunk, sizeof(chunk));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n <= 0) {
        input_open = false;
        if (link.tls != nullptr) {
          // close_notify first, then the TCP half-close once it has gone (below).
          link.tls->close_notify();
          to_socket = link.tls->take_output();
        }
        if (to_socket.empty()) {
          ::shutdown(fd, SHUT_WR);
        }
      } else if (link.tls != nullptr) {
        if (auto written = link.tls->write(std::string_view(chunk, static_cast<std::size_t>(n))); !written) {
          throw Error(written.error());
        }
        to_socket = link.tls->take_output();
      } else {
        to_socket.assign(chunk, static_cast<std::size_t>(n));
      }
    }
  }
}

void show_session(const EchoClientConfig& options, const tls::SessionInfo& info) {
  std::string text =
      fmt::format("tls: {} {} alpn={}\n", info.version, info.cipher, info.alpn.empty() ? "(none)" : info.alpn);
  for (std::size_t i = 0; i < info.chain.size(); ++i) {
    const auto& cert = info.chain[i];
    text +=
        fmt::format("tls: certificate {}: subject: {}\n"
                    "tls:   issuer: {}\n"
                    "tls:   valid: {} to {} ({} days left)\n"
                    "tls:   sha256: {}\n",
                    i, cert.subject, cert.issuer, cert.not_before, cert.not_after, cert.days_left, cert.fingerprint);
  }
  write_all_or_throw(options.err_fd, text);
}

void run_client(const EchoClientConfig& options) {
  auto fd = connect(options);
  Link link{fd.get(), nullptr};
  std::unique_ptr<tls::Session> session;
  std::string early;
  if (options.tls) {
    auto made = tls::Session::client(options.tls, options.address.host, options.sni);
    if (!made) {
      throw Error(made.error());
    }
    session = std::move(*made);
    auto done = tls::handshake(fd.get(), *session, early,
                               net::deadline_after(options.timeout > Seconds::zero() ? options.timeout : Seconds(10)));
    if (!done) {
      if (done.code() == ETIMEDOUT) {
        throw TimeoutError(done.error());
      }
      throw ConnectError(done.error());
    }
    link.tls = session.get();
    if (options.tls_show) {
      show_session(options, session->info());
    }
  }
  if (options.raw) {
    run_raw(options, link, early);
  } else {
    run_lines(options, link, early);
    if (session) {
      // Say goodbye properly so the server can tell our end from a cut; best effort.
      session->close_notify();
      (void)tls::flush(fd.get(), *session, net::deadline_after(Seconds(1)));
    }
  }
}

} // namespace

Result<void> run_echo_client(const EchoClientConfig& options) {
  return catch_failure([&] { run_client(options); });
}

} // namespace netlab::echo
