// SFTP transfers: files and folders, verification, and the choice between netlab's own pipelined
// SFTP channels and libssh's SFTP client where the server allows no second channel.
#include "core/ssh/sftp.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <filesystem>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/crypto/background_sha256.hpp"
#include "core/crypto/digest.hpp"
#include "core/ssh/remote_digest.hpp"
#include "core/ssh/session.hpp"
#include "core/ssh/sftp_channel.hpp"
#include "core/ssh/sftp_names.hpp"
#include "core/ssh/transfer_guard.hpp"
#include "core/util/fd.hpp"
#include "core/util/log.hpp"
#include "core/util/sys_error.hpp"

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

// The folder part of a remote path, "" for a bare name (the server's current folder).
std::string remote_folder(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Folders nested deeper than this in a download are refused: a server could nest without end.
constexpr int k_max_depth = 256;

// The file type bits of a mode, as stat(2) has them (SFTP v3 sends the same).
bool is_type(std::uint32_t mode, mode_t type) { return (mode & S_IFMT) == type; }

mode_t read_umask() {
  // /proc says it without changing it; the umask() dance would race with other threads' creates.
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Umask:")) {
      return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8)) & 0777;
    }
  }
  mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

// The mode an upload gives the remote file or folder.
std::uint32_t remote_mode(mode_t mode, bool preserve) { return preserve ? mode & 07777 : mode & 0777; }

class Transfer {
public:
  Transfer(ssh_session session, sftp_session sftp, const TransferConfig& options)
      : m_session(session), m_sftp(sftp), m_options(options),
        m_meter(options.meter != nullptr ? options.meter : &m_own_meter) {}

  Result<void> put_path(const std::string& local, const std::string& remote) {
    NETLAB_TRY_VOID(check_interrupt());
    std::error_code ec;
    auto status = stdfs::status(local, ec);
    if (ec) {
      return fail(fmt::format("put {}: {}", local, ec.message()));
    }
    if (stdfs::is_directory(status)) {
      if (!m_options.recursive) {
        return fail(fmt::format("put {}: is a directory (use -r)", local));
      }
      auto mode = remote_mode(static_cast<mode_t>(status.permissions()), m_options.preserve);
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
          NETLAB_TRY_VOID(put_path(entry.path().string(), join_remote(remote, name)));
        }
      }
      if (ec) {
        return fail(fmt::format("put {}: {}", local, ec.message()));
      }
      return {};
    }
    return put_file(local, remote);
  }

  // `remote` into the entry `leaf` of the open folder `dir`; `shown` names that entry in messages.
  Result<void> get_path(const std::string& remote, int dir, const std::string& leaf, const std::string& shown) {
    SftpAttributesPtr attributes(sftp_stat(m_sftp, remote.c_str()));
    if (!attributes) {
      return fail(fmt::format("get {}: {}", remote, sftp_error(m_sftp, m_session)));
    }
    if (attributes->type == SSH_FILEXFER_TYPE_DIRECTORY) {
      if (!m_options.recursive) {
        return fail(fmt::format("get {}: is a directory (use -r)", remote));
      }
      return get_folder(remote, dir, leaf, shown, attributes->permissions, 0);
    }
    return get_file(remote, dir, leaf, shown, *attributes);
  }

  TransferStats stats() const { return m_stats; }

private:
  static Result<void> check_interrupt() {
    if (TransferGuard::interrupted()) {
      return fail(fmt::format("interrupted by {}", InterruptWatch::name(InterruptWatch::caught())));
    }
    return {};
  }

  // A folder listing entry: the name as sent, and its type where the listing said it.
  struct Listed {
    std::string name;
    std::optional<std::uint32_t> permissions;
  };

  // Names exactly as the server sent them: over a channel of netlab's own where there is one
  // (libssh's listing cuts a name at its first NUL byte, hiding it), else libssh's.
  Result<std::vector<Listed>> list(const std::string& remote) {
    std::vector<Listed> out;
    auto own = channels(1);
    if (!own.empty()) {
      NETLAB_TRY(auto entries, own.front()->list(remote));
      for (auto& entry : entries) {
        out.push_back({std::move(entry.name), entry.attributes.permissions});
      }
      return out;
    }
    SftpDirPtr dir(sftp_opendir(m_sftp, remote.c_str()));
    if (!dir) {
      return fail(fmt::format("list {}: {}", remote, sftp_error(m_sftp, m_session)));
    }
    while (SftpAttributesPtr entry{sftp_readdir(m_sftp, dir.get())}) {
      std::optional<std::uint32_t> permissions;
      if ((entry->flags & SSH_FILEXFER_ATTR_PERMISSIONS) != 0) {
        permissions = entry->permissions;
      }
      out.push_back({entry->name != nullptr ? entry->name : "", permissions});
      if (out.size() > SftpChannel::k_max_entries) {
        return fail(fmt::format("list {}: more than {} entries", remote, SftpChannel::k_max_entries));
      }
    }
    // readdir gives nothing both at the end and on an error: only the end is a whole listing.
    if (sftp_dir_eof(dir.get()) == 0) {
      return fail(fmt::format("list {}: {}", remote, sftp_error(m_sftp, m_session)));
    }
    return out;
  }

  Result<void> get_folder(const std::string& remote, int parent, const std::string& leaf, const std::string& shown,
                          std::uint32_t permissions, int depth) {
    NETLAB_TRY_VOID(check_interrupt());
    if (depth > k_max_depth) {
      return fail(fmt::format("get {}: folders nested more than {} deep", remote, k_max_depth));
    }
    NETLAB_TRY(auto entries, list(remote));
    // Every name is checked before anything of this folder is written: a server that sends one
    // name leading elsewhere is not trusted with the rest either.
    std::vector<std::string> refused;
    std::vector<std::string> names;
    for (auto& entry : entries) {
      bool is_folder = entry.permissions && is_type(*entry.permissions, S_IFDIR);
      if ((entry.name == "." || entry.name == "..") && (is_folder || !entry.permissions)) {
        continue; // every listing names the folder itself and its parent
      }
      if (auto checked = check_listing_name(entry.name); !checked) {
        refused.push_back(fmt::format("{} ({})", quote_name(entry.name), checked.error()));
        continue;
      }
      names.push_back(std::move(entry.name));
    }
    if (!refused.empty()) {
      return fail(fmt::format("get {}: the server's listing holds names that are not one path component, refused: {}; "
                              "nothing was written outside {}",
                              remote, fmt::join(refused, ", "), shown));
    }
    bool created = ::mkdirat(parent, leaf.c_str(), 0700) == 0;
    if (!created && errno != EEXIST) {
      return fail(sys_message("mkdir", shown, errno));
    }
    Fd dir(::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir.get() < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return fail(fmt::format("get {}: {} is not a folder (a symbolic link there is not followed)", remote, shown));
      }
      return fail(sys_message("open", shown, errno));
    }
    for (const auto& name : names) {
      NETLAB_TRY_VOID(check_interrupt());
      auto child = join_remote(remote, name);
      auto child_shown = (stdfs::path(shown) / name).string();
      // lstat: a remote symbolic link is not followed unless asked.
      SftpAttributesPtr attributes(sftp_lstat(m_sftp, child.c_str()));
      if (attributes && attributes->type == SSH_FILEXFER_TYPE_SYMLINK && m_options.follow_links) {
        attributes.reset(sftp_stat(m_sftp, child.c_str()));
      }
      if (!attributes) {
        return fail(fmt::format("get {}: {}", child, sftp_error(m_sftp, m_session)));
      }
      if (attributes->type == SSH_FILEXFER_TYPE_DIRECTORY) {
        NETLAB_TRY_VOID(get_folder(child, dir.get(), name, child_shown, attributes->permissions, depth + 1));
      } else if (attributes->type == SSH_FILEXFER_TYPE_REGULAR) {
        NETLAB_TRY_VOID(get_file(child, dir.get(), name, child_shown, *attributes));
      } else if (attributes->type == SSH_FILEXFER_TYPE_SYMLINK) {
        log::info("get {}: a symbolic link, not followed (--follow-links); skipped", child);
      } else {
        log::info("get {}: not a file or folder; skipped", child);
      }
    }
    if (created && ::fchmod(dir.get(), local_mode(permissions, m_options.preserve)) != 0) {
      return fail(sys_message("chmod", shown, errno));
    }
    return {};
  }

  // Tells the remote file's fate after a failed upload: removed, or left (and why).
  std::string drop_remote_temp(const std::string& temp, SftpChannel* channel) {
    if (channel != nullptr) {
      if (auto removed = channel->remove(temp); removed) {
        return "";
      } else {
        return fmt::format("; the partial upload {} was left on the host ({})", temp, removed.error());
      }
    }
    if (sftp_unlink(m_sftp, temp.c_str()) == 0) {
      return "";
    }
    return fmt::format("; the partial upload {} was left on the host ({})", temp, sftp_error(m_sftp, m_session));
  }

  Result<void> put_file(const std::string& local, const std::string& remote) {
    Fd fd(::open(local.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      return fail(sys_message("put", local, errno));
    }
    struct stat st {};
    ::fstat(fd.get(), &st);
    std::uint32_t mode = remote_mode(st.st_mode, m_options.preserve);
    auto own = channels(1);
    auto* writer = own.empty() ? nullptr : own.front();
    // Written under a fresh name beside `remote`, created exclusively and readable by the owner
    // only until it is complete.
    std::string temp = join_remote(remote_folder(remote), temporary_name());
    SftpFilePtr file;
    if (writer != nullptr) {
      auto opened = writer->open_new(temp, 0600);
      if (!opened) {
        return fail(fmt::format("put {}: {}", local, named_as(opened.error(), temp, remote)));
      }
    } else {
      file.reset(sftp_open(m_sftp, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0600));
      if (!file) {
        return fail(fmt::format("put {}: open {}: {}", local, remote, sftp_error(m_sftp, m_session)));
      }
    }
    auto written = write_temp(fd.get(), local, temp, writer, file);
    file.reset();
    auto total = written ? finish_put(local, remote, temp, st, mode, writer, *written)
                         : Result<std::uint64_t>(written.failure());
    if (!total) {
      // On a session the guard shut down the removal fails too, and the message says so.
      return fail(total.error() + drop_remote_temp(temp, writer));
    }
    m_stats.bytes += *total;
    ++m_stats.files;
    ++m_meter->files;
    return {};
  }

  // An error about the temporary file, told about the file the user named.
  static std::string named_as(std::string text, const std::string& temp, const std::string& remote) {
    if (auto at = text.find(temp); at != std::string::npos) {
      text.replace(at, temp.size(), remote);
    }
    return text;
  }

  struct Written {
    std::uint64_t total = 0;
    std::string sha256;
  };

  Result<Written> write_temp(int fd, const std::string& local, const std::string& temp, SftpChannel* writer,
                             SftpFilePtr& file) {
    auto written = send_file(fd, local, temp, writer, file);
    if (writer != nullptr) {
      // Closed on failure too: the channel must take every outstanding answer before it can say
      // anything else (the removal of the temporary file, for one).
      auto closed = writer->close();
      if (!closed && written) {
        return fail(fmt::format("put {}: {}", local, closed.error()));
      }
    }
    return written;
  }

  Result<Written> send_file(int fd, const std::string& local, const std::string& temp, SftpChannel* writer,
                            SftpFilePtr& file) {
    // Hashed on another thread: this one is busy encrypting and sending.
    crypto::BackgroundSha256 digest(k_write_chunk);
    std::uint64_t total = 0;
    while (true) {
      NETLAB_TRY_VOID(check_interrupt());
      auto buffer = digest.take();
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return fail(sys_message(fmt::format("put {}: read", local), "", errno));
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
        return fail(fmt::format("put {}: write {}: {}", local, temp, sftp_error(m_sftp, m_session)));
      }
      digest.hash(std::move(buffer), size);
      total += size;
      m_meter->bytes += size;
    }
    return Written{total, digest.finish_hex()};
  }

  // The temporary file is complete: its mode, its check, then the rename over `remote`.
  Result<std::uint64_t> finish_put(const std::string& local, const std::string& remote, const std::string& temp,
                                   const struct stat& st, std::uint32_t mode, SftpChannel* writer,
                                   const Written& written) {
    if (sftp_chmod(m_sftp, temp.c_str(), mode) != 0) {
      return fail(fmt::format("put {}: chmod {}: {}", local, temp, sftp_error(m_sftp, m_session)));
    }
    if (m_options.preserve) {
      struct timeval times[2] = {{st.st_atim.tv_sec, 0}, {st.st_mtim.tv_sec, 0}};
      if (sftp_utimes(m_sftp, temp.c_str(), times) != 0) {
        return fail(fmt::format("put {}: set times of {}: {}", local, temp, sftp_error(m_sftp, m_session)));
      }
    }
    RemoteDigest remote_digest(m_session, temp);
    NETLAB_TRY_VOID(verify(temp, written.total, written.sha256, remote_digest, fmt::format("put {}", local)));
    NETLAB_TRY_VOID(check_interrupt());
    if (writer != nullptr && writer->has_extension(sftp_wire::k_posix_rename)) {
      if (auto renamed = writer->posix_rename(temp, remote); !renamed) {
        return fail(fmt::format("put {}: {} to {}", local, renamed.error(), remote));
      }
      return written.total;
    }
    // No atomic rename on this server: the old file goes first (SFTP v3's rename refuses to
    // replace), so for a moment `remote` does not exist.
    if (sftp_unlink(m_sftp, remote.c_str()) != 0 && sftp_get_error(m_sftp) != SSH_FX_NO_SUCH_FILE) {
      return fail(fmt::format("put {}: remove the old {}: {}", local, remote, sftp_error(m_sftp, m_session)));
    }
    if (sftp_rename(m_sftp, temp.c_str(), remote.c_str()) != 0) {
      return fail(fmt::format("put {}: rename {} to {}: {}", local, temp, remote, sftp_error(m_sftp, m_session)));
    }
    return written.total;
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

  Result<void> get_file(const std::string& remote, int dir, const std::string& leaf, const std::string& shown,
                        const sftp_attributes_struct& attributes) {
    // A fresh name nobody can have planted a link under: O_EXCL|O_NOFOLLOW, relative to the folder.
    std::string temp;
    Fd fd;
    for (int attempt = 0; attempt < 16 && fd.get() < 0; ++attempt) {
      temp = temporary_name();
      fd.reset(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (fd.get() < 0 && errno != EEXIST) {
        break;
      }
    }
    if (fd.get() < 0) {
      return fail(sys_message(fmt::format("get {}: create a temporary file beside", remote), shown, errno));
    }
    std::uint64_t size = attributes.size;
    crypto::Sha256 digest;
    std::uint64_t total = 0;
    // The host hashes its copy while we download it, not after.
    RemoteDigest remote_digest(m_session, remote);
    auto copied = read_remote(remote, size, [&](const char* data, std::size_t n) -> Result<void> {
      NETLAB_TRY_VOID(check_interrupt());
      digest.update(data, n);
      total += n;
      m_meter->bytes += n;
      while (n > 0) {
        ssize_t w = ::write(fd.get(), data, n);
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w < 0) {
          return fail(sys_message(fmt::format("get {}: write beside", remote), shown, errno));
        }
        data += w;
        n -= static_cast<std::size_t>(w);
      }
      return {};
    });
    auto finish = [&]() -> Result<void> {
      NETLAB_TRY_VOID(copied);
      if (::fchmod(fd.get(), local_mode(attributes.permissions, m_options.preserve)) != 0) {
        return fail(sys_message(fmt::format("get {}: chmod beside", remote), shown, errno));
      }
      if (m_options.preserve) {
        struct timespec times[2] = {{static_cast<time_t>(attributes.atime), 0},
                                    {static_cast<time_t>(attributes.mtime), 0}};
        if ((attributes.flags & SSH_FILEXFER_ATTR_ACMODTIME) != 0 && ::futimens(fd.get(), times) != 0) {
          return fail(sys_message(fmt::format("get {}: set times beside", remote), shown, errno));
        }
      }
      if (::close(fd.release()) != 0) {
        return fail(sys_message(fmt::format("get {}: close beside", remote), shown, errno));
      }
      NETLAB_TRY_VOID(verify(remote, total, digest.finish_hex(), remote_digest, fmt::format("get {}", remote)));
      NETLAB_TRY_VOID(check_interrupt());
      // renameat replaces whatever `leaf` is, a symbolic link included, without following it.
      if (::renameat(dir, temp.c_str(), dir, leaf.c_str()) != 0) {
        return fail(sys_message(fmt::format("get {}: rename to", remote), shown, errno));
      }
      return {};
    };
    auto done = finish();
    fd.reset();
    if (!done) {
      ::unlinkat(dir, temp.c_str(), 0);
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
    auto readers = channels(
        static_cast<std::size_t>(std::min<std::uint64_t>(k_read_channels, 1 + size / k_bytes_per_read_channel)));
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
      NETLAB_TRY_VOID(check_interrupt());
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
  TransferConfig m_options;
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

mode_t local_mode(std::uint32_t mode, bool preserve) {
  static const mode_t k_umask = read_umask();
  return preserve ? static_cast<mode_t>(mode & 07777) : static_cast<mode_t>(mode & 0777 & ~k_umask);
}

Result<TransferStats> put(ssh_session session, const std::string& local, const std::string& remote,
                          const TransferConfig& options) {
  NETLAB_TRY(auto sftp, open_sftp(session));
  if (options.guard != nullptr) {
    options.guard->started();
  }
  std::string destination = remote_is_directory(sftp.get(), remote) ? join_remote(remote, base_name(local)) : remote;
  Transfer transfer(session, sftp.get(), options);
  NETLAB_TRY_VOID(transfer.put_path(local, destination));
  return transfer.stats();
}

Result<TransferStats> get(ssh_session session, const std::string& remote, const std::string& local,
                          const TransferConfig& options) {
  NETLAB_TRY(auto sftp, open_sftp(session));
  if (options.guard != nullptr) {
    options.guard->started();
  }
  std::string trimmed = local;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  std::error_code ec;
  stdfs::path destination(trimmed);
  if (stdfs::is_directory(destination, ec)) {
    // The remote name chosen by the user: checked all the same, it becomes a local name.
    auto name = base_name(remote);
    if (auto checked = check_listing_name(name); !checked) {
      return fail(
          fmt::format("get {}: {} cannot name a file in {}: {}", remote, quote_name(name), local, checked.error()));
    }
    destination /= name;
  }
  auto leaf = destination.filename().string();
  if (!check_listing_name(leaf)) {
    return fail(fmt::format("get {}: {} names no file", remote, local));
  }
  auto parent = destination.parent_path();
  // The folder the user named is opened as it is (through a symbolic link too): only what lies
  // below it comes from the server.
  Fd dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return fail(sys_message(fmt::format("get {}: open", remote), parent.empty() ? "." : parent.string(), errno));
  }
  Transfer transfer(session, sftp.get(), options);
  NETLAB_TRY_VOID(transfer.get_path(remote, dir.get(), leaf, destination.string()));
  return transfer.stats();
}

} // namespace netlab::ssh
