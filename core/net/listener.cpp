// Listening sockets.
#include "core/net/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>

#include <fmt/format.h>

#include "core/util/sys_error.hpp"

namespace netlab::net {
namespace {

// Binds a TCP socket by hand so SO_REUSEPORT can be set before bind (libuv 1.44 has no flag).
Result<int> reuseport_socket(const loop::Endpoint& endpoint, const std::string& text) {
  int fd = ::socket(endpoint.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(sys_message("socket", text, errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, endpoint.sa(), endpoint.length) != 0) {
    int saved = errno;
    ::close(fd);
    return fail(sys_message("bind", text, saved));
  }
  return fd;
}

// True if something accepts connections on the unix socket at `path`.
bool unix_socket_alive(const loop::Endpoint& endpoint) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  bool alive = ::connect(fd, endpoint.sa(), endpoint.length) == 0 || errno == EAGAIN;
  ::close(fd);
  return alive;
}

} // namespace

Listener::~Listener() { close(); }

Result<std::unique_ptr<Listener>> Listener::open(loop::Loop& loop, const Address& address, ListenConfig options) {
  std::unique_ptr<Listener> self(new Listener(loop, address));
  NETLAB_TRY(auto endpoints, resolve(address, SOCK_STREAM));
  const auto& endpoint = endpoints.front();
  const auto text = address.to_string();
  int rc = 0;
  if (address.is_unix()) {
    self->m_pipe = loop::Pipe::create(loop);
    if (options.shared_fd >= 0) {
      int fd = ::fcntl(options.shared_fd, F_DUPFD_CLOEXEC, 0);
      rc = fd < 0 ? uv_translate_sys_error(errno) : self->m_pipe->open(fd);
      if (rc != 0) {
        return fail(uv_message("listen", text, rc));
      }
    } else {
      struct stat st {};
      if (::lstat(address.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
          // EADDRINUSE would be true but misleading: no server is there, a file is.
          return fail(fmt::format("bind {}: a file that is not a socket is in the way", text));
        }
        if (!unix_socket_alive(endpoint)) {
          ::unlink(address.path.c_str());
        }
      }
      // The file is born with its final permissions: with the caller's umask it could be open to
      // every local user between bind and the chmod in start(), and a server that runs commands
      // would take their connections (issue 14). The umask is process-wide, so this relies on
      // servers binding before they start other threads.
      mode_t previous = ::umask(static_cast<mode_t>(~options.unix_mode & 0777));
      rc = self->m_pipe->bind(address.path);
      ::umask(previous);
      if (rc == UV_EACCES) {
        // libuv reports a missing folder as EACCES (as Windows would); say what is really wrong.
        auto folder = std::filesystem::path(address.path).parent_path();
        std::error_code ec;
        if (!folder.empty() && !std::filesystem::exists(folder, ec)) {
          rc = UV_ENOENT;
        }
      }
      if (rc != 0) {
        return fail(uv_message("bind", text, rc));
      }
      self->m_owns_socket_file = true;
      self->m_unix_mode = options.unix_mode;
    }
    self->m_bound = text;
    self->m_backlog = options.backlog;
    return self;
  }
  self->m_tcp = loop::Tcp::create(loop);
  if (options.reuse_port) {
    NETLAB_TRY(int fd, reuseport_socket(endpoint, text));
    rc = self->m_tcp->open(fd);
    if (rc != 0) {
      ::close(fd);
      return fail(uv_message("listen", text, rc));
    }
  } else {
    rc = self->m_tcp->bind(endpoint);
    if (rc != 0) {
      return fail(uv_message("bind", text, rc));
    }
  }
  // libuv defers some bind errors (EADDRINUSE) to listen(); the bound address is known after it.
  self->m_bound = text;
  self->m_backlog = options.backlog;
  return self;
}

Result<void> Listener::start(std::function<void()> on_pending) {
  loop::Stream* stream = m_tcp ? static_cast<loop::Stream*>(m_tcp.get()) : m_pipe.get();
  // libuv reports bind errors such as EADDRINUSE only at listen time.
  int rc = stream->listen(m_backlog, [this, on_pending = std::move(on_pending)](int status) {
    if (status != 0) {
      if (m_accept_errors_logged++ < 3) {
        fmt::print(stderr, "netlab: {}\n", uv_message("accept on", m_bound, status));
      }
      return;
    }
    on_pending();
  });
  if (rc != 0) {
    return fail(uv_message(m_tcp ? "bind" : "listen", m_bound, rc));
  }
  if (m_tcp) {
    auto local = m_tcp->local_endpoint();
    m_bound = local.to_string();
    m_port = local.port();
  }
  // No chmod by path here: the socket was born with its mode (the umask around bind), and a
  // chmod by name would follow a symlink another user swapped in for the socket meanwhile.
  return {};
}

std::shared_ptr<loop::Stream> Listener::accept() {
  std::shared_ptr<loop::Stream> client;
  if (m_tcp) {
    client = loop::Tcp::create(m_loop);
    if (m_tcp->accept(*client) != 0) {
      client->close();
      return nullptr;
    }
    static_cast<loop::Tcp*>(client.get())->nodelay(true);
  } else {
    client = loop::Pipe::create(m_loop);
    if (m_pipe->accept(*client) != 0) {
      client->close();
      return nullptr;
    }
  }
  return client;
}

int Listener::fd() const {
  uv_os_fd_t fd = -1;
  if (m_tcp) {
    uv_fileno(m_tcp->uv_handle(), &fd);
  } else if (m_pipe) {
    uv_fileno(m_pipe->uv_handle(), &fd);
  }
  return fd;
}

void Listener::close(bool remove_socket_file) {
  if (m_tcp) {
    m_tcp->close();
    m_tcp.reset();
  }
  if (m_pipe) {
    m_pipe->close();
    m_pipe.reset();
    if (remove_socket_file && m_owns_socket_file) {
      ::unlink(m_address.path.c_str());
      m_owns_socket_file = false;
    }
  }
}

} // namespace netlab::net
