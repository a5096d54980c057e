// libFuzzer target: exec-client's handling of what a server sends (hello, auth answers, output,
// exit, errors, garbage). A thread plays the server over a unix socket: it sends the input and
// closes. Properties: the client never crashes or hangs; it returns a status from 0 to 255 or
// fails with a message (no exception escapes); an error's message holds no control characters
// (server text is escaped); and holding a token, it never sends a command to a server that
// offered "auth":"none" or a nonce that is not 64 lowercase hex (it sends nothing but auth).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/crypto/digest.hpp"
#include "core/exec/exec_client.hpp"
#include "core/frame/frame.hpp"
#include "core/util/error.hpp"

namespace {

// A private folder for the socket, removed at exit (plain char arrays: they outlive atexit).
char g_dir[] = "/tmp/netlab-fuzz-client-XXXXXX";
char g_path[sizeof(g_dir) + 2];

std::string socket_path() {
  static bool made = [] {
    if (::mkdtemp(g_dir) == nullptr) {
      __builtin_trap();
    }
    std::snprintf(g_path, sizeof(g_path), "%s/s", g_dir);
    std::atexit([] {
      ::unlink(g_path);
      ::rmdir(g_dir);
    });
    // A server that closes early must not kill the client with SIGPIPE (netlab's main ignores it).
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)made;
  return g_path;
}

int listener() {
  static int fd = [] {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path().c_str());
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(s, 4) != 0) {
      __builtin_trap();
    }
    return s;
  }();
  return fd;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int server = listener();
  std::string script(reinterpret_cast<const char*>(data), size);
  bool with_token = !script.empty() && (script[0] & 1) != 0;
  std::string received;
  std::thread peer([&] {
    int conn = ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      return;
    }
    timeval limit{2, 0};
    ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    if (script.size() > 1) {
      [[maybe_unused]] auto n = ::send(conn, script.data() + 1, script.size() - 1, MSG_NOSIGNAL);
    }
    ::shutdown(conn, SHUT_WR);
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(conn, buffer, sizeof(buffer), 0)) > 0) {
      received.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(conn);
  });

  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  netlab::exec::ExecClientConfig options;
  options.address = *netlab::net::parse_address("unix:" + socket_path());
  options.token = with_token ? "fuzz-token-0123456789" : "";
  options.command = {"echo", "fuzz-secret-argv"};
  options.connect_timeout = netlab::Seconds(2);
  options.timeout = netlab::Seconds(1);
  options.in_fd = devnull;
  options.out_fd = devnull;
  options.err_fd = devnull;
  auto status = netlab::exec::run_exec_client(options);
  if (status) {
    if (*status < 0 || *status > 255) {
      __builtin_trap();
    }
  } else {
    for (unsigned char c : status.error()) {
      if (c < 0x20 || c == 0x7f) {
        __builtin_trap();
      }
    }
  }
  // Anything else (a json::exception, std::bad_alloc...) escapes and libFuzzer reports it.
  peer.join();
  ::close(devnull);

  // With a token, argv goes out only after an auth-ok that answered our MAC over a proper nonce.
  if (with_token && received.find("fuzz-secret-argv") != std::string::npos) {
    netlab::frame::Decoder decoder;
    std::vector<netlab::frame::Frame> frames;
    (void)decoder.feed(std::string_view(script).substr(1), frames);
    if (frames.empty() || frames[0].header.value("auth", nlohmann::json()) != "hmac-sha256") {
      __builtin_trap();
    }
    auto nonce = frames[0].header.find("nonce");
    if (nonce == frames[0].header.end() || !nonce->is_string() ||
        !netlab::crypto::is_sha256_hex(nonce->get<std::string>())) {
      __builtin_trap();
    }
  }
  return 0;
}
