// Frame-file writing: one read of each chunk, hashed, then written after its header.
#include "core/framefile/writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

#include <fmt/format.h>

#include "core/crypto/digest.hpp"
#include "core/util/fd.hpp"
#include "core/util/fd_io.hpp"
#include "core/framefile/names.hpp"
#include "core/util/sys_error.hpp"

namespace netlab::framefile {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") {
    return name;
  }
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// A chunk read and hashed, ready to be written after its header.
struct Chunk {
  std::string_view data;
  std::string sha256;
};

// Reads a descriptor chunk by chunk into two buffers in turn. After take() the caller may call
// read_ahead(): the next chunk is then read and hashed on another thread while the caller writes
// this one. A frame's header carries its body's hash, so hashing cannot overlap the write of its
// own chunk, but it can overlap the one before. Each chunk stays valid until the next take().
class ChunkReader {
public:
  ChunkReader(int fd, const std::string& what, std::string& one, std::string& two)
      : m_fd(fd), m_what(what), m_current(&one), m_next(&two) {}
  // The next `size` bytes (fewer only at the end of input): those read ahead, or read now.
  Result<Chunk> take(std::size_t size) {
    auto loaded = m_ahead.valid() ? m_ahead.get() : load(m_fd, *m_current, size, m_what);
    if (!loaded) {
      return loaded.failure();
    }
    return Chunk{*m_current, std::move(*loaded)};
  }

  // Starts reading the `size` bytes after the chunk just taken.
  void read_ahead(std::size_t size) {
    std::swap(m_current, m_next);
    m_ahead =
        std::async(std::launch::async, [this, size, target = m_current] { return load(m_fd, *target, size, m_what); });
  }

private:
  // Reads up to `size` bytes into `buffer` and returns their SHA-256.
  static Result<std::string> load(int fd, std::string& buffer, std::size_t size, const std::string& what) {
    buffer.resize(size);
    NETLAB_TRY(auto got, read_full(fd, buffer.data(), size, what));
    buffer.resize(got);
    return crypto::sha256_hex(buffer);
  }

  int m_fd;
  const std::string& m_what;
  std::string* m_current;
  std::string* m_next;
  // A read still running is waited for by this future's destructor, so an early return never
  // leaves it writing into a buffer that is gone.
  std::future<Result<std::string>> m_ahead;
};

} // namespace

Writer::Writer(int out_fd, std::string out_name, WriterConfig options, Warn warn)
    : m_out_fd(out_fd), m_out_name(std::move(out_name)), m_options(options), m_warn(std::move(warn)) {
  m_options.chunk_size = std::clamp<std::size_t>(m_options.chunk_size, 1, k_max_chunk);
  struct stat st {};
  if (::fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode)) {
    m_out_dev = st.st_dev;
    m_out_ino = st.st_ino;
  }
  if (!m_warn) {
    m_warn = [](const std::string&) {};
  }
}

Result<void> Writer::emit(nlohmann::json header, std::string_view body) {
  auto head = frame::encode_head(std::move(header), body.size());
  NETLAB_TRY_VOID(write_all(m_out_fd, head, m_out_name));
  NETLAB_TRY_VOID(write_all(m_out_fd, body, m_out_name));
  ++m_frames;
  m_bytes += head.size() + body.size();
  return {};
}

Result<void> Writer::add_path(const std::string& path) {
  NETLAB_TRY(auto name, stored_name(path));
  // A path given here is the user's own choice and is followed; below it, nothing is.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    return sys_failure("", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_failure("", path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return add_tree(fd.get(), path, name == "." ? std::string() : name);
  }
  return add_file(fd.get(), path, name);
}

Result<void> Writer::add_tree(int dir_fd, const std::string& path, const std::string& name) {
  // Listed through a descriptor of its own: closedir() closes it, and `dir_fd` stays ours.
  DIR* dir = ::fdopendir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (dir == nullptr) {
    return sys_failure("", path, errno);
  }
  std::vector<std::string> entries;
  while (auto* entry = ::readdir(dir)) {
    std::string entry_name = entry->d_name;
    if (entry_name != "." && entry_name != "..") {
      entries.push_back(std::move(entry_name));
    }
  }
  ::closedir(dir);
  // Sorted, so the same tree always gives the same stream.
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    std::string child = join(path, entry);
    std::string child_name = name.empty() ? entry : name + "/" + entry;
    struct stat st {};
    if (::fstatat(dir_fd, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return sys_failure("", child, errno);
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      m_warn(fmt::format("skipping {}: {}", child, S_ISLNK(st.st_mode) ? "symbolic link" : "not a regular file"));
      continue;
    }
    // Opened relative to the folder's descriptor, never following a link, and without waiting
    // on a FIFO: an entry swapped after the fstatat cannot lead outside the tree or stall pack.
    Fd fd(::openat(dir_fd, entry.c_str(),
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0)));
    if (!fd && errno == ELOOP) {
      m_warn(fmt::format("skipping {}: symbolic link", child));
      continue;
    }
    if (!fd) {
      return sys_failure("", child, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      NETLAB_TRY_VOID(add_tree(fd.get(), child, child_name));
      continue;
    }
    struct stat opened {};
    if (::fstat(fd.get(), &opened) == 0 && opened.st_dev == m_out_dev && opened.st_ino == m_out_ino) {
      continue;
    }
    NETLAB_TRY_VOID(add_file(fd.get(), child, child_name));
  }
  return {};
}

Result<void> Writer::add_file(int fd, const std::string& path, const std::string& name) {
  NETLAB_TRY_VOID(check_storable(name));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return sys_failure("", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(fmt::format("{}: not a regular file or folder", path));
  }
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  const std::size_t chunk = m_options.chunk_size;
  const bool chunked = file_size > chunk;
  auto chunk_at = [&](std::uint64_t offset) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(chunk, file_size - offset));
  };
  ChunkReader chunks(fd, path, m_buffer, m_spare);
  std::uint64_t offset = 0;
  do {
    auto want = chunk_at(offset);
    NETLAB_TRY(auto loaded, chunks.take(want));
    if (loaded.data.size() != want) {
      return fail(fmt::format("{}: file shrank while being read ({} of {} bytes)", path, offset + loaded.data.size(),
                              file_size));
    }
    if (offset + want < file_size) {
      chunks.read_ahead(chunk_at(offset + want));
    }
    nlohmann::json header = {{"type", "file"}, {"name", name}, {"mode", st.st_mode & 07777}};
    header["sha256"] = std::move(loaded.sha256);
    if (chunked) {
      header["offset"] = offset;
      header["file_size"] = file_size;
    }
    NETLAB_TRY_VOID(emit(std::move(header), loaded.data));
    offset += want;
  } while (offset < file_size);
  ++m_files;
  return {};
}

Result<void> Writer::add_stream(int in_fd, const std::string& in_name) {
  const std::size_t chunk = m_options.chunk_size;
  ChunkReader chunks(in_fd, in_name, m_buffer, m_spare);
  for (bool first = true;; first = false) {
    NETLAB_TRY(auto loaded, chunks.take(chunk));
    if (loaded.data.empty() && !first) {
      return {};
    }
    bool full = loaded.data.size() == chunk;
    if (full) {
      chunks.read_ahead(chunk);
    }
    nlohmann::json header = {{"type", "data"}};
    header["sha256"] = std::move(loaded.sha256);
    NETLAB_TRY_VOID(emit(std::move(header), loaded.data));
    if (!full) {
      return {};
    }
  }
}

} // namespace netlab::framefile
