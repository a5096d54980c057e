// SFTP transfers: files and folders, verification, and the choice between netlab's own pipelined
// SFTP channels and libssh's SFTP client where the server allows no second channel.
#include "core/ssh/sftp.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "core/crypto/background_sha256.hpp"
#include "core/crypto/digest.hpp"
#include "core/ssh/remote_digest.hpp"
#include "core/ssh/session.hpp"
#include "core/ssh/sftp_channel.hpp"

namespace netlab::ssh {
namespace {

namespace stdfs = std::filesystem;

// The libssh fallback: reads as on netlab's own channels, and writes, which libssh makes one at a
// time, as large as OpenSSH's sftp-server takes (its messages are limited to 256 KiB, and the
// write request's header must fit too). Uploads read the local file in these pieces either way.
constexpr std::uint32_t k_read_chunk = SftpChannel::k_chunk;
constexpr std::size_t k_reads_in_flight = SftpChannel::k_in_flight;
constexpr std::size_t k_write_chunk = 256 * 1024 - 1024;
// Channels a large download reads over: each carries at most libssh's 1.28 MB window at a time.
// Starting one costs a few round trips, so small files make do with fewer.
constexpr std::size_t k_read_channels = 4;
constexpr std::uint64_t k_bytes_per_read_channel = 4 << 20;

// libssh's SFTP errors are the protocol's status codes: the plain ones by name, the rest as
// libssh words them.
std::string sftp_error(sftp_session sftp, ssh_session session) {
  if (auto name = sftp_wire::status_name(static_cast<std::uint32_t>(sftp_get_error(sftp)))) {
    return std::string(*name);
  }
  return last_error(session);
}

std::string base_name(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  auto slash = trimmed.rfind('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

std::string join_remote(const std::string& folder, const std::string& name) {
  return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name;
}

class Transfer {
public:
  Transfer(ssh_session session, sftp_session sftp, TransferMeter* meter)
      : m_session(session), m_sftp(sftp), m_meter(meter != nullptr ? meter : &m_own_meter) {}

  Result<void> put_path(const std::string& local, const std::string& remote, bool recursive) {
    std::error_code ec;
    auto status = stdfs::status(local, ec);
    if (ec) {
      return fail(fmt::format("put {}: {}", local, ec.message()));
    }
    if (stdfs::is_directory(status)) {
      if (!recursive) {
        return fail(fmt::format("put {}: is a directory (use -r)", local));
      }
      auto mode = static_cast<mode_t>(status.permissions()) & 07777;
      if (sftp_mkdir(m_sftp, remote.c_str(), mode) != 0 && sftp_get_error(m_sftp) != SSH_FX_FILE_ALREADY_EXISTS) {
        // OpenSSH reports an existing folder as a plain failure, so ask before giving up.
        SftpAttributesPtr existing(sftp_stat(m_sftp, remote.c_str()));
        if (!existing || existing->type != SSH_FILEXFER_TYPE_DIRECTORY) {
          return fail(fmt::format("mkdir {}: {}", remote, sftp_error(m_sftp, m_session)));
        }
      }
      for (const auto& entry : stdfs::directory_iterator(local, ec)) {
        auto name = entry.path().filename().string();
        if (entry.is_directory(ec) || entry.is_regular_file(ec)) {
          NETLAB_TRY_VOID(put_path(entry.path().string(), join_remote(remote, name), recursive));
        }
      }
      if (ec) {
        return fail(fmt::format("put {}: {}", local, ec.message()));
      }
      return {};
    }
    return put_file(local, remote);
  }

  Result<void> get_path(const std::string& remote, const std::string& local, bool recursive) {
    SftpAttributesPtr attributes(sftp_stat(m_sftp, remote.c_str()));
    if (!attributes) {
      return fail(fmt::format("get {}: {}", remote, sftp_error(m_sftp, m_session)));
    }
    if (attributes->type == SSH_FILEXFER_TYPE_DIRECTORY) {
      if (!recursive) {
        return fail(fmt::format("get {}: is a directory (use -r)", remote));
      }
      std::error_code ec;
      stdfs::create_directories(local, ec);
      if (ec) {
        return fail(fmt::format("mkdir {}: {}", local, ec.message()));
      }
      ::chmod(local.c_str(), attributes->permissions & 07777);
      std::vector<std::string> names;
      {
        SftpDirPtr dir(sftp_opendir(m_sftp, remote.c_str()));
        if (!dir) {
          return fail(fmt::format("list {}: {}", remote, sftp_error(m_sftp, m_session)));
        }
        while (SftpAttributesPtr entry{sftp_readdir(m_sftp, dir.get())}) {
          std::string name = entry->name != nullptr ? entry->name : "";
          if (name != "." && name != ".." && !name.empty() &&
              (entry->type == SSH_FILEXFER_TYPE_DIRECTORY || entry->type == SSH_FILEXFER_TYPE_REGULAR)) {
            names.push_back(name);
          }
        }
      }
      for (const auto& name : names) {
        NETLAB_TRY_VOID(get_path(join_remote(remote, name), (stdfs::path(local) / name).string(), recursive));
      }
      return {};
    }
    return get_file(remote, local, attributes->size, attributes->permissions & 07777);
  }

  TransferStats stats() const { return m_stats; }

private:
  Result<void> put_file(const std::string& local, const std::string& remote) {
    int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return fail(fmt::format("put {}: {}", local, std::strerror(errno)));
    }
    struct stat st {};
    ::fstat(fd, &st);
    auto closer = std::unique_ptr<int, void (*)(int*)>(&fd, [](int* f) { ::close(*f); });
    mode_t mode = st.st_mode & 07777;
    auto own = channels(1);
    auto* writer = own.empty() ? nullptr : own.front();
    SftpFilePtr file;
    if (writer != nullptr) {
      auto opened = writer->open_write(remote, mode);
      if (!opened) {
        return fail(fmt::format("put {}: {}", local, opened.error()));
      }
    } else {
      file.reset(sftp_open(m_sftp, remote.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
      if (!file) {
        return fail(fmt::format("put {}: open {}: {}", local, remote, sftp_error(m_sftp, m_session)));
      }
    }
    // Hashed on another thread: this one is busy encrypting and sending.
    crypto::BackgroundSha256 digest(k_write_chunk);
    std::uint64_t total = 0;
    while (true) {
      auto buffer = digest.take();
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return fail(fmt::format("put {}: read: {}", local, std::strerror(errno)));
      }
      if (n == 0) {
        break;
      }
      auto size = static_cast<std::size_t>(n);
      if (writer != nullptr) {
        for (std::size_t at = 0; at < size; at += SftpChannel::k_chunk) {
          auto sent = writer->write(std::string_view(buffer.data() + at, std::min(SftpChannel::k_chunk, size - at)));
          if (!sent) {
            return fail(fmt::format("put {}: {}", local, sent.error()));
          }
        }
      } else if (sftp_write(file.get(), buffer.data(), size) != n) {
        return fail(fmt::format("put {}: write {}: {}", local, remote, sftp_error(m_sftp, m_session)));
      }
      digest.hash(std::move(buffer), size);
      total += size;
      m_meter->bytes += size;
    }
    if (writer != nullptr) {
      auto closed = writer->close();
      if (!closed) {
        return fail(fmt::format("put {}: {}", local, closed.error()));
      }
    }
    file.reset();
    // The server's umask applied to the open; set the bits exactly as they are here.
    sftp_chmod(m_sftp, remote.c_str(), mode);
    RemoteDigest remote_digest(m_session, remote);
    NETLAB_TRY_VOID(verify(remote, total, digest.finish_hex(), remote_digest, fmt::format("put {}", local)));
    m_stats.bytes += total;
    ++m_stats.files;
    ++m_meter->files;
    return {};
  }

  // Up to `wanted` SFTP channels of netlab's own, started on first use and kept for the whole
  // transfer. Fewer (or none) where the server limits channels per connection (MaxSessions);
  // callers then fall back to libssh's SFTP client, which always has its channel.
  std::vector<SftpChannel*> channels(std::size_t wanted) {
    while (m_channels.size() < wanted && !m_channels_refused) {
      auto started = SftpChannel::start(m_session);
      if (!started) {
        m_channels_refused = true;
        break;
      }
      m_channels.push_back(std::move(*started));
    }
    std::vector<SftpChannel*> out;
    for (std::size_t i = 0; i < m_channels.size() && i < wanted; ++i) {
      out.push_back(m_channels[i].get());
    }
    return out;
  }

  Result<void> get_file(const std::string& remote, const std::string& local, std::uint64_t size, mode_t mode) {
    std::string temp = fmt::format("{}.netlab-partial.{}", local, ::getpid());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return fail(fmt::format("get {}: create {}: {}", remote, temp, std::strerror(errno)));
    }
    crypto::Sha256 digest;
    std::uint64_t total = 0;
    // The host hashes its copy while we download it, not after.
    RemoteDigest remote_digest(m_session, remote);
    auto copied = read_remote(remote, size, [&](const char* data, std::size_t n) -> Result<void> {
      digest.update(data, n);
      total += n;
      m_meter->bytes += n;
      while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w < 0) {
          return fail(fmt::format("get {}: write {}: {}", remote, temp, std::strerror(errno)));
        }
        data += w;
        n -= static_cast<std::size_t>(w);
      }
      return {};
    });
    auto finish = [&]() -> Result<void> {
      NETLAB_TRY_VOID(copied);
      if (::fchmod(fd, mode) != 0 || ::close(std::exchange(fd, -1)) != 0) {
        return fail(fmt::format("get {}: close {}: {}", remote, temp, std::strerror(errno)));
      }
      NETLAB_TRY_VOID(verify(remote, total, digest.finish_hex(), remote_digest, fmt::format("get {}", remote)));
      if (::rename(temp.c_str(), local.c_str()) != 0) {
        return fail(fmt::format("get {}: rename to {}: {}", remote, local, std::strerror(errno)));
      }
      return {};
    };
    auto done = finish();
    if (fd >= 0) {
      ::close(fd);
    }
    if (!done) {
      ::unlink(temp.c_str());
      return done;
    }
    m_stats.bytes += total;
    ++m_stats.files;
    ++m_meter->files;
    return {};
  }

  // Streams `size` bytes of a remote file to `consume` with many reads in flight, since one
  // synchronous read per chunk would cost a round trip each: over up to four channels of
  // netlab's own where the server allows them (one channel's window caps what is in flight),
  // else through libssh's SFTP client.
  Result<void> read_remote(const std::string& remote, std::uint64_t size,
                           const std::function<Result<void>(const char*, std::size_t)>& consume) {
    auto readers = channels(static_cast<std::size_t>(
        std::min<std::uint64_t>(k_read_channels, 1 + size / k_bytes_per_read_channel)));
    if (readers.empty()) {
      return read_remote_libssh(remote, size, consume);
    }
    for (std::size_t i = 0; i < readers.size(); ++i) {
      if (auto opened = readers[i]->open_read(remote); !opened) {
        // The handles already open go back, so the channels can serve the next file.
        while (i-- > 0) {
          (void)readers[i]->close();
        }
        return opened;
      }
    }
    // Chunk i is asked of channel i % n; each channel answers in order, so taking answers
    // round-robin gives the file in order.
    const std::uint64_t chunk = SftpChannel::k_chunk;
    const std::uint64_t chunks = (size + chunk - 1) / chunk;
    std::uint64_t asked = 0;
    std::uint64_t taken = 0;
    Result<void> status;
    while (status && taken < chunks) {
      while (status && asked < chunks && readers[asked % readers.size()]->waiting() < SftpChannel::k_in_flight) {
        auto length = static_cast<std::uint32_t>(std::min(chunk, size - asked * chunk));
        status = readers[asked % readers.size()]->request_read(asked * chunk, length);
        ++asked;
      }
      if (!status) {
        break;
      }
      auto data = readers[taken % readers.size()]->take_data();
      auto expected = std::min(chunk, size - taken * chunk);
      if (!data) {
        status = data.failure();
      } else if (data->size() != expected) {
        // Later requests asked for later offsets, so a short answer would leave a hole.
        status = fail(fmt::format("read {}: the file changed during the transfer", remote));
      } else {
        status = consume(data->data(), data->size());
        ++taken;
      }
    }
    for (auto* reader : readers) {
      auto closed = reader->close();
      if (!closed && status) {
        status = std::move(closed);
      }
    }
    return status;
  }

  // read_remote through libssh's SFTP client, for servers that allow no second channel.
  Result<void> read_remote_libssh(const std::string& remote, std::uint64_t size,
                           const std::function<Result<void>(const char*, std::size_t)>& consume) {
    SftpFilePtr file(sftp_open(m_sftp, remote.c_str(), O_RDONLY, 0));
    if (!file) {
      return fail(fmt::format("open {}: {}", remote, sftp_error(m_sftp, m_session)));
    }
    std::deque<std::pair<int, std::uint32_t>> pending; // request id, length asked
    std::uint64_t requested = 0;
    std::uint64_t received = 0;
    std::vector<char> buffer(k_read_chunk);
    Result<void> status;
    while (received < size) {
      while (status && pending.size() < k_reads_in_flight && requested < size) {
        auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>(k_read_chunk, size - requested));
        int id = sftp_async_read_begin(file.get(), length);
        if (id < 0) {
          status = fail(fmt::format("read {}: {}", remote, sftp_error(m_sftp, m_session)));
          break;
        }
        pending.emplace_back(id, length);
        requested += length;
      }
      if (pending.empty()) {
        break;
      }
      auto [id, length] = pending.front();
      pending.pop_front();
      int n = sftp_async_read(file.get(), buffer.data(), length, static_cast<uint32_t>(id));
      if (!status) {
        continue; // drain what is in flight so libssh frees the answers
      }
      if (n < 0) {
        status = fail(fmt::format("read {}: {}", remote, sftp_error(m_sftp, m_session)));
      } else if (static_cast<std::uint32_t>(n) != length) {
        // Later requests asked for later offsets, so a short answer would leave a hole.
        status = fail(fmt::format("read {}: the file changed during the transfer", remote));
      } else {
        received += static_cast<std::uint64_t>(n);
        status = consume(buffer.data(), static_cast<std::size_t>(n));
      }
    }
    return status;
  }

  // The remote file's SHA-256: from the host when it can hash (no second transfer), else by
  // reading the file back.
  Result<std::string> remote_sha256(const std::string& remote, std::uint64_t size, RemoteDigest& on_host) {
    if (auto hashed = on_host.finish()) {
      return *hashed;
    }
    crypto::Sha256 digest;
    NETLAB_TRY_VOID(read_remote(remote, size, [&digest](const char* data, std::size_t n) -> Result<void> {
      digest.update(data, n);
      return {};
    }));
    return digest.finish_hex();
  }

  Result<void> verify(const std::string& remote, std::uint64_t size, const std::string& local_sha,
                      RemoteDigest& on_host, const std::string& what) {
    SftpAttributesPtr attributes(sftp_stat(m_sftp, remote.c_str()));
    if (!attributes) {
      return fail(fmt::format("{}: stat {}: {}", what, remote, sftp_error(m_sftp, m_session)));
    }
    if (attributes->size != size) {
      return fail(fmt::format("{}: size mismatch: {} bytes here, {} on the host", what, size, attributes->size));
    }
    NETLAB_TRY(auto remote_sha, remote_sha256(remote, size, on_host));
    if (remote_sha != local_sha) {
      return fail(fmt::format("{}: SHA-256 mismatch: {} here, {} on the host", what, local_sha, remote_sha));
    }
    return {};
  }

  ssh_session m_session;
  sftp_session m_sftp;
  TransferStats m_stats;
  TransferMeter m_own_meter; // when nobody watches
  std::vector<std::unique_ptr<SftpChannel>> m_channels;
  bool m_channels_refused = false;
  TransferMeter* m_meter;
};

Result<SftpPtr> open_sftp(ssh_session session) {
  SftpPtr sftp(sftp_new(session));
  if (!sftp) {
    return fail(fmt::format("start sftp: {}", last_error(session)));
  }
  if (sftp_init(sftp.get()) != SSH_OK) {
    return fail(fmt::format("start sftp: {}", last_error(session)));
  }
  return sftp;
}

bool remote_is_directory(sftp_session sftp, const std::string& path) {
  SftpAttributesPtr attributes(sftp_stat(sftp, path.c_str()));
  return attributes && attributes->type == SSH_FILEXFER_TYPE_DIRECTORY;
}

} // namespace

std::uint64_t local_size(const std::string& local, bool recursive) {
  std::error_code ec;
  if (!stdfs::is_directory(local, ec)) {
    auto size = stdfs::file_size(local, ec);
    return ec ? 0 : size;
  }
  if (!recursive) {
    return 0;
  }
  std::uint64_t total = 0;
  for (auto it = stdfs::recursive_directory_iterator(local, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      total += it->file_size(ec);
    }
  }
  return total;
}

Result<TransferStats> put(ssh_session session, const std::string& local, const std::string& remote, bool recursive,
                          TransferMeter* meter) {
  NETLAB_TRY(auto sftp, open_sftp(session));
  std::string destination = remote_is_directory(sftp.get(), remote) ? join_remote(remote, base_name(local)) : remote;
  Transfer transfer(session, sftp.get(), meter);
  NETLAB_TRY_VOID(transfer.put_path(local, destination, recursive));
  return transfer.stats();
}

Result<TransferStats> get(ssh_session session, const std::string& remote, const std::string& local, bool recursive,
                          TransferMeter* meter) {
  NETLAB_TRY(auto sftp, open_sftp(session));
  std::error_code ec;
  std::string destination =
      stdfs::is_directory(local, ec) ? (stdfs::path(local) / base_name(remote)).string() : local;
  Transfer transfer(session, sftp.get(), meter);
  NETLAB_TRY_VOID(transfer.get_path(remote, destination, recursive));
  return transfer.stats();
}

} // namespace netlab::ssh
