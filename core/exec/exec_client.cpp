// The exec client. Ctrl-C reaches the poll loop through a self-pipe, so it is handled between
// frames and never interrupts a frame half-written.
#include "core/exec/exec_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/crypto/digest.hpp"
#include "core/exec/request.hpp"
#include "core/frame/frame.hpp"
#include "core/net/socket.hpp"
#include "core/tls/blocking.hpp"
#include "core/util/error.hpp"
#include "core/util/escape.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::exec {
namespace {

using nlohmann::json;

constexpr std::size_t k_chunk = 64 * 1024;
// The server's grace between SIGTERM and SIGKILL plus room for the last frames to arrive.
constexpr Seconds k_timeout_margin{10};

[[noreturn]] void protocol_error(const std::string& message) { throw Error("protocol: " + message, k_exit_connect); }

// SIGINT as a readable descriptor, for as long as the object lives. Until arm(), a Ctrl-C ends
// the client at once with InterruptedError's line and status: connecting and the TLS handshake
// wait in calls that do not watch the pipe, and before the conversation starts there is nothing
// remote to stop, so waiting out --connect-timeout would only make the user wait.
class InterruptPipe {
public:
  InterruptPipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(sys_message("pipe", "", errno));
    }
    m_read.reset(fds[0]);
    m_write.reset(fds[1]);
    s_write_fd = fds[1];
    s_armed = 0;
    struct sigaction action {};
    action.sa_handler = [](int) {
      int saved = errno;
      if (s_armed == 0) {
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, k_interrupted_line, sizeof(k_interrupted_line) - 1);
        ::_exit(k_exit_interrupted);
      }
      char byte = 1;
      [[maybe_unused]] auto n = ::write(s_write_fd, &byte, 1);
      errno = saved;
    };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &m_previous);
  }
  ~InterruptPipe() {
    ::sigaction(SIGINT, &m_previous, nullptr);
    s_write_fd = -1; // before the members close the pipe
  }
  InterruptPipe(const InterruptPipe&) = delete;
  InterruptPipe& operator=(const InterruptPipe&) = delete;

  // From now on a Ctrl-C is a byte in the pipe, handled between frames.
  void arm() { s_armed = 1; }
  int fd() const { return m_read.get(); }
  // How many Ctrl-Cs arrived since the last call.
  int take() {
    char buf[64];
    int count = 0;
    ssize_t n;
    while ((n = ::read(m_read.get(), buf, sizeof(buf))) > 0) {
      count += static_cast<int>(n);
    }
    return count;
  }

private:
  // What main() prints for InterruptedError in this command.
  static constexpr char k_interrupted_line[] = "netlab: exec-client: interrupted\n";
  static inline volatile int s_write_fd = -1;
  static inline volatile sig_atomic_t s_armed = 0;
  Fd m_read;
  Fd m_write;
  struct sigaction m_previous {};
};

class Channel {
public:
  Channel(Fd fd, InterruptPipe& interrupts) : m_fd(std::move(fd)), m_interrupts(interrupts) {}

  // Runs the TLS handshake; from then on every frame goes through `session`.
  void start_tls(std::unique_ptr<tls::Session> session, bool psk, const net::Deadline& deadline) {
    auto done = tls::handshake(m_fd.get(), *session, m_plain, deadline);
    if (!done) {
      if (done.code() == ETIMEDOUT) {
        throw TimeoutError(done.error());
      }
      if (psk) {
        throw ConnectError(fmt::format("{} (a different token, or a server without --tls?)", done.error()));
      }
      throw ConnectError(done.error());
    }
    m_tls = std::move(session);
  }

  // Sends one frame before `deadline` (none: no limit). While the server takes none of it, a
  // Ctrl-C runs `on_interrupt`, which throws to give up: a server that stops reading must not hold
  // the client past --timeout or past the user's patience.
  void send(json header, std::string_view body, const net::Deadline& deadline,
            const std::function<void()>& on_interrupt) {
    auto bytes = frame::encode(std::move(header), body);
    if (m_tls) {
      auto sealed = m_tls->write(bytes);
      if (!sealed) {
        throw Error(fmt::format("send: {}", sealed.error()), k_exit_connect);
      }
      bytes = m_tls->take_output();
    }
    std::string_view rest(bytes);
    while (!rest.empty()) {
      ssize_t n = ::send(m_fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n > 0) {
        rest.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        throw Error(sys_message("send", "", errno), k_exit_connect);
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      pollfd fds[2] = {{m_fd.get(), POLLOUT, 0}, {m_interrupts.fd(), POLLIN, 0}};
      int rc = ::poll(fds, 2, net::poll_timeout(deadline));
      if (rc < 0 && errno != EINTR) {
        throw Error(sys_message("poll", "", errno), k_exit_connect);
      }
      if (rc == 0) {
        throw TimeoutError("send: timed out (the server is not reading)");
      }
      if (rc > 0 && (fds[1].revents & POLLIN)) {
        for (int count = m_interrupts.take(); count > 0; --count) {
          on_interrupt();
        }
      }
    }
  }

  // The next frame. `on_interrupt` runs for each Ctrl-C while waiting.
  frame::Frame next(const net::Deadline& deadline, const std::function<void()>& on_interrupt) {
    char chunk[k_chunk];
    if (!m_plain.empty()) {
      // Bytes that came with the end of the TLS handshake.
      std::string early = std::move(m_plain);
      m_plain.clear();
      take(early);
    }
    while (m_frames.empty()) {
      pollfd fds[2] = {{m_fd.get(), POLLIN, 0}, {m_interrupts.fd(), POLLIN, 0}};
      int rc = ::poll(fds, 2, net::poll_timeout(deadline));
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      if (rc == 0) {
        throw TimeoutError(m_seen_frame ? "no answer from the server in time"
                                        : "no hello from the server in time: is it an exec-server? (an echo "
                                          "server, for one, says nothing until spoken to)");
      }
      if (fds[1].revents & POLLIN) {
        for (int n = m_interrupts.take(); n > 0; --n) {
          on_interrupt();
        }
      }
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      if (m_tls) {
        std::string plain;
        auto open = tls::receive(m_fd.get(), *m_tls, plain, deadline);
        if (!open) {
          throw Error(open.error(), k_exit_connect);
        }
        take(plain);
        if (!*open && m_frames.empty()) {
          auto finished = m_decoder.finish();
          if (!finished) {
            protocol_error(finished.error());
          }
          throw Error("the server closed the connection", k_exit_connect);
        }
        continue;
      }
      ssize_t n = ::recv(m_fd.get(), chunk, sizeof(chunk), 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (n < 0) {
        throw Error(sys_message("receive", "", errno), k_exit_connect);
      }
      if (n == 0) {
        auto finished = m_decoder.finish();
        if (!finished) {
          protocol_error(finished.error());
        }
        throw Error("the server closed the connection", k_exit_connect);
      }
      take(std::string_view(chunk, static_cast<std::size_t>(n)));
    }
    auto frame = std::move(m_frames.front());
    m_frames.pop_front();
    m_seen_frame = true;
    return frame;
  }

  InterruptPipe& interrupts() { return m_interrupts; }

private:
  // Bytes from the server (decrypted, over TLS) into frames.
  void take(std::string_view data) {
    if (data.empty()) {
      return;
    }
    if (m_first_bytes.size() < k_sniff) {
      m_first_bytes.append(data.substr(0, k_sniff - m_first_bytes.size()));
    }
    std::vector<frame::Frame> frames;
    auto fed = m_decoder.feed(data, frames);
    for (auto& frame : frames) {
      m_frames.push_back(std::move(frame));
    }
    if (!fed && m_frames.empty()) {
      if (!m_seen_frame) {
        not_an_exec_server();
      }
      protocol_error(fed.error());
    }
  }

  static constexpr std::size_t k_sniff = 64;

  // The first bytes of a peer that is not an exec-server are usually a text greeting
  // ("SSH-2.0-...", "220 smtp ...", an HTTP answer): their first four bytes read as a frame
  // length of over a billion. Say what the peer is instead of "header length 1397966893".
  void not_an_exec_server() {
    std::string_view first(m_first_bytes);
    bool text = first.size() >= 4 &&
                std::all_of(first.begin(), first.begin() + 4, [](char c) { return c >= 0x20 && c < 0x7f; });
    if (!text) {
      return;
    }
    auto line = first.substr(0, first.find_first_of("\r\n"));
    throw Error(fmt::format("not an exec-server: it sent '{}'", escape_text(std::string(line))), k_exit_connect);
  }

  Fd m_fd;
  std::unique_ptr<tls::Session> m_tls;
  std::string m_plain; // decrypted bytes not yet decoded
  InterruptPipe& m_interrupts;
  frame::Decoder m_decoder;
  std::deque<frame::Frame> m_frames;
  std::string m_first_bytes;
  bool m_seen_frame = false;
};

// The server's words, escaped: a hostile server must not drive the user's terminal.
std::string error_text(const frame::Frame& frame) {
  return fmt::format("{}: {}", escape_text(frame.header.value("code", std::string("error"))),
                     escape_text(frame.header.value("message", std::string())));
}

void handshake(Channel& channel, const ExecClientConfig& options) {
  auto deadline = net::deadline_after(options.connect_timeout);
  auto no_interrupt = [] { throw InterruptedError(); };
  auto hello = channel.next(deadline, no_interrupt);
  if (hello.type() == "error") {
    throw ConnectError("server refused: " + error_text(hello));
  }
  if (hello.type() != "hello") {
    protocol_error(fmt::format("expected a hello frame, got '{}'", escape_text(hello.type())));
  }
  if (hello.header.value("version", 0) != k_protocol_version) {
    protocol_error(fmt::format("server speaks exec protocol version {}, this client {}",
                               hello.header.value("version", json(nullptr)).dump(), k_protocol_version));
  }
  auto auth_field = hello.header.find("auth");
  auto auth = auth_field != hello.header.end() && auth_field->is_string() ? auth_field->get<std::string>() : "";
  if (auth == "none") {
    // Holding a token means we expect to prove it; a server that asks for nothing may not be
    // the one we meant, and would get argv and stdin.
    if (!options.token.empty()) {
      throw ConnectError("server offers no authentication but a token was given: refusing to send the "
                         "command to a server that does not check it (drop --token-file/NETLAB_TOKEN to "
                         "use an open server)");
    }
    return;
  }
  if (auth != "hmac-sha256") {
    throw ConnectError(fmt::format("server asks for unknown auth method '{}'", escape_text(auth)));
  }
  if (options.token.empty()) {
    throw ConnectError("server requires a token: give --token-file FILE or set NETLAB_TOKEN");
  }
  auto nonce_field = hello.header.find("nonce");
  // The MAC is computed only over a nonce of the documented shape, so a server cannot pick the
  // message we sign (protocol.md: 32 random bytes as 64 lowercase hex digits).
  if (nonce_field == hello.header.end() || !nonce_field->is_string() ||
      !crypto::is_sha256_hex(nonce_field->get_ref<const std::string&>())) {
    protocol_error("the hello's nonce is not 64 lowercase hex digits");
  }
  const auto& nonce = nonce_field->get_ref<const std::string&>();
  channel.send(json{{"type", "auth"}, {"mac", auth_mac(options.token, nonce)}}, {}, deadline, no_interrupt);
  auto reply = channel.next(deadline, no_interrupt);
  if (reply.type() == "error") {
    throw ConnectError("authentication: " + error_text(reply));
  }
  if (reply.type() != "auth-ok") {
    protocol_error(fmt::format("expected auth-ok, got '{}'", escape_text(reply.type())));
  }
}

struct Outcome {
  int status = 0;
  // Set when the server refused the command (error frame) instead of running it.
  std::string refused;
};

// A command the server could not start ends as a shell says: 126 found but not executable, 127
// not found (the server's "status"; a server that gives none meant 127).
int status_for_refusal(const frame::Frame& frame) {
  if (frame.header.value("code", std::string()) != "spawn-failed") {
    return k_exit_failure;
  }
  auto status = frame.header.find("status");
  if (status != frame.header.end() && status->is_number_integer() &&
      status->get<std::int64_t>() == k_exit_cannot_execute) {
    return k_exit_cannot_execute;
  }
  return k_exit_not_found;
}

Outcome run_command(Channel& channel, const ExecClientConfig& options, std::int64_t id, json request,
                    std::string_view body) {
  request["type"] = "exec";
  request["id"] = id;
  if (options.timeout > Seconds::zero()) {
    request["timeout"] = options.timeout.count(); // protocol.md: seconds, a number
  }
  json command = request.contains("shell") ? request["shell"] : request["argv"];
  // Sending counts against the same deadline: a server that stops reading is no excuse to wait
  // longer. The command starts only once its whole frame has arrived, so a Ctrl-C before then
  // has nothing to forward and just leaves.
  auto deadline =
      options.timeout > Seconds::zero() ? net::deadline_after(options.timeout + k_timeout_margin) : std::nullopt;
  auto leave = [] { throw InterruptedError(); };
  channel.send(request, body, deadline, leave);

  int interrupts = 0;
  auto on_interrupt = [&] {
    if (++interrupts >= 2) {
      throw InterruptedError();
    }
    channel.send(json{{"type", "signal"}, {"id", id}, {"signal", "INT"}}, {}, net::deadline_after(Seconds(5)), leave);
  };
  std::uint64_t got[3] = {0, 0, 0};
  std::string captured[3];
  while (true) {
    auto frame = channel.next(deadline, on_interrupt);
    auto type = frame.type();
    auto frame_id = frame.header.value("id", json(nullptr));
    if (type == "stdout" || type == "stderr") {
      int fd = type == "stdout" ? 1 : 2;
      got[fd] += frame.body.size();
      if (options.json) {
        captured[fd] += frame.body;
      } else {
        write_all_or_throw(fd == 1 ? options.out_fd : options.err_fd, frame.body);
      }
    } else if (type == "exit") {
      auto expect_out = frame.header.value("stdout_size", std::uint64_t{0});
      auto expect_err = frame.header.value("stderr_size", std::uint64_t{0});
      if (expect_out != got[1] || expect_err != got[2]) {
        throw Error(fmt::format("output lost: got {} of {} stdout bytes and {} of {} stderr bytes", got[1], expect_out,
                                got[2], expect_err),
                    k_exit_connect);
      }
      int status = exit_status_from(frame.header).shell_status();
      if (options.json) {
        json out{{"id", id},
                 {"command", command},
                 {"exit_code", frame.header.value("exit_code", json(nullptr))},
                 {"signal", frame.header.value("signal", json(nullptr))},
                 {"timed_out", frame.header.value("timed_out", false)},
                 {"truncated", frame.header.value("truncated", false)},
                 {"status", status},
                 {"stdout_size", got[1]},
                 {"stderr_size", got[2]},
                 {"duration_ms", frame.header.value("duration_ms", json(nullptr))},
                 {"stdout", captured[1]},
                 {"stderr", captured[2]}};
        write_all_or_throw(options.out_fd, out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
      }
      if (frame.header.value("truncated", false)) {
        log::info("output cut at {} bytes by the server's --max-output; the command was killed", got[1] + got[2]);
      }
      return Outcome{status, {}};
    } else if (type == "error") {
      auto code = frame.header.value("code", std::string());
      if (frame_id.is_null() || code == "protocol") {
        throw Error("server: " + error_text(frame), k_exit_connect);
      }
      if (options.json) {
        write_all_or_throw(options.out_fd, json{{"id", id},
                                                {"command", command},
                                                {"error", code},
                                                {"message", frame.header.value("message", std::string())},
                                                {"status", status_for_refusal(frame)}}
                                                   .dump(-1, ' ', false, json::error_handler_t::replace) +
                                               "\n");
      }
      return Outcome{status_for_refusal(frame), error_text(frame)};
    }
    // Other frame types are for newer clients (protocol.md §1: unknown keys and types are ignored).
  }
}

// Reads all of `fd` for the command's stdin; it travels as one frame body, so it is bounded.
std::string read_stdin(int fd, InterruptPipe& interrupts) {
  std::string data;
  char chunk[k_chunk];
  while (true) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {interrupts.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      throw Error(sys_message("read stdin", "", errno));
    }
    if (fds[1].revents & POLLIN && interrupts.take() > 0) {
      throw InterruptedError();
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
      continue;
    }
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      throw Error(sys_message("read stdin", "", errno));
    }
    if (n == 0) {
      return data;
    }
    data.append(chunk, static_cast<std::size_t>(n));
    if (data.size() > frame::k_default_max_body) {
      throw Error(fmt::format("stdin is larger than {} bytes, the most one exec frame carries; use --no-stdin "
                              "or send the data another way",
                              frame::k_default_max_body));
    }
  }
}

// Lines for the REPL: waits with poll so Ctrl-C at the prompt is seen.
LineReader repl_reader(int fd, InterruptPipe& interrupts) {
  return LineReader(fd, [&interrupts](int input) {
    while (true) {
      pollfd fds[2] = {{input, POLLIN, 0}, {interrupts.fd(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
        throw Error(sys_message("read stdin", "", errno));
      }
      if (fds[1].revents & POLLIN && interrupts.take() > 0) {
        throw InterruptedError();
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
        return;
      }
    }
  });
}

int run_repl(Channel& channel, const ExecClientConfig& options) {
  auto reader = repl_reader(options.in_fd, channel.interrupts());
  std::string line;
  int status = 0;
  std::int64_t id = 0;
  while (true) {
    // The prompt goes to stderr, so `exec-client ADDR > out` captures only the commands' output.
    if (options.interactive) {
      write_all_or_throw(options.err_fd, ">>: ");
    }
    if (!reader.next(line)) {
      if (options.interactive) {
        write_all_or_throw(options.err_fd, "\n");
      }
      return status;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    json request;
    if (options.shell) {
      request["shell"] = line;
    } else {
      auto words = split_words(line);
      if (!words) {
        log::info("cannot split '{}': {}", line, words.error());
        status = k_exit_usage;
        continue;
      }
      request["argv"] = *words;
    }
    auto outcome = run_command(channel, options, ++id, std::move(request), {});
    if (!outcome.refused.empty() && !options.json) {
      log::info("remote: {}", outcome.refused);
    }
    status = outcome.status;
  }
}

int run_client(const ExecClientConfig& options) {
  InterruptPipe interrupts;
  auto fd = net::connect_stream(options.address, net::deadline_after(options.connect_timeout));
  if (!fd) {
    throw ConnectError(fd.error());
  }
  Channel channel(Fd(*fd), interrupts);
  if (options.tls) {
    auto session = tls::Session::client(options.tls, options.address.host, options.sni);
    if (!session) {
      throw Error(session.error());
    }
    channel.start_tls(std::move(*session), options.tls->uses_psk(), net::deadline_after(options.connect_timeout));
  }
  interrupts.arm();
  handshake(channel, options);
  if (options.command.empty()) {
    return run_repl(channel, options);
  }
  std::string body = options.send_stdin ? read_stdin(options.in_fd, interrupts) : std::string();
  json request;
  if (options.shell) {
    std::string line;
    for (const auto& word : options.command) {
      line += (line.empty() ? "" : " ") + word;
    }
    request["shell"] = line;
  } else {
    request["argv"] = options.command;
  }
  auto outcome = run_command(channel, options, 1, std::move(request), body);
  if (!outcome.refused.empty() && !options.json) {
    throw Error("remote: " + outcome.refused, outcome.status);
  }
  return outcome.status;
}

} // namespace

Result<int> run_exec_client(const ExecClientConfig& options) {
  return catch_failure([&] {
    try {
      return run_client(options);
    } catch (const json::exception& e) {
      // A header key of the wrong JSON type, from a server that is not netlab's.
      protocol_error(e.what());
    }
  });
}

} // namespace netlab::exec
