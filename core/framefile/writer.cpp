// Frame-file writing: one read of each chunk, hashed, then written after its header.
#include "core/framefile/writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/crypto/digest.hpp"
#include "core/util/fd_io.hpp"
#include "core/framefile/names.hpp"

namespace netlab::framefile {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") {
    return name;
  }
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Closes a descriptor on every path out of a function.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

} // namespace

Writer::Writer(int out_fd, std::string out_name, WriterOptions options, Warn warn)
    : m_out_fd(out_fd), m_out_name(std::move(out_name)), m_options(options), m_warn(std::move(warn)) {
  m_options.chunk_size = std::clamp<std::size_t>(m_options.chunk_size, 1, k_max_chunk);
  struct stat st{};
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
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(fmt::format("{}: {}", path, std::strerror(errno)), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return add_tree(path, name == "." ? std::string() : name);
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(fmt::format("{}: not a regular file or folder", path));
  }
  return add_file(path, name);
}

Result<void> Writer::add_tree(const std::string& path, const std::string& name) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return fail(fmt::format("{}: {}", path, std::strerror(errno)), errno);
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
    struct stat st{};
    if (::lstat(child.c_str(), &st) != 0) {
      return fail(fmt::format("{}: {}", child, std::strerror(errno)), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      NETLAB_TRY_VOID(add_tree(child, child_name));
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_dev == m_out_dev && st.st_ino == m_out_ino) {
        continue;
      }
      NETLAB_TRY_VOID(add_file(child, child_name));
    } else {
      m_warn(fmt::format("skipping {}: {}", child, S_ISLNK(st.st_mode) ? "symbolic link" : "not a regular file"));
    }
  }
  return {};
}

Result<void> Writer::add_file(const std::string& path, const std::string& name) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(fmt::format("{}: {}", path, std::strerror(errno)), errno);
  }
  FdGuard guard{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    return fail(fmt::format("{}: {}", path, std::strerror(errno)), errno);
  }
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  const std::size_t chunk = m_options.chunk_size;
  const bool chunked = file_size > chunk;
  std::uint64_t offset = 0;
  do {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, file_size - offset));
    m_buffer.resize(want);
    NETLAB_TRY(auto got, read_full(fd, m_buffer.data(), want, path));
    if (got != want) {
      return fail(fmt::format("{}: file shrank while being read ({} of {} bytes)", path, offset + got, file_size));
    }
    nlohmann::json header = {{"type", "file"}, {"name", name}, {"mode", st.st_mode & 07777}};
    header["sha256"] = crypto::sha256_hex(m_buffer);
    if (chunked) {
      header["offset"] = offset;
      header["file_size"] = file_size;
    }
    NETLAB_TRY_VOID(emit(std::move(header), m_buffer));
    offset += want;
  } while (offset < file_size);
  ++m_files;
  return {};
}

Result<void> Writer::add_stream(int in_fd, const std::string& in_name) {
  bool first = true;
  while (true) {
    m_buffer.resize(m_options.chunk_size);
    NETLAB_TRY(auto got, read_full(in_fd, m_buffer.data(), m_buffer.size(), in_name));
    m_buffer.resize(got);
    if (got == 0 && !first) {
      return {};
    }
    first = false;
    nlohmann::json header = {{"type", "data"}};
    header["sha256"] = crypto::sha256_hex(m_buffer);
    NETLAB_TRY_VOID(emit(std::move(header), m_buffer));
    if (got < m_options.chunk_size) {
      return {};
    }
  }
}

} // namespace netlab::framefile
