// Writes frame files (protocol.md §2): file frames for files and folder trees, data frames for a stream.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/frame/frame.hpp"
#include "core/util/result.hpp"

namespace netlab::framefile {

// A frame's body never exceeds the decoder's default limit, so every netlab reader accepts
// every frame netlab writes without raising its limits.
inline constexpr std::size_t k_max_chunk = frame::k_default_max_body;
inline constexpr std::size_t k_default_chunk = frame::k_default_max_body;

struct WriterConfig {
  std::size_t chunk_size = k_default_chunk; // 1 .. k_max_chunk
};

// Streams frames to a descriptor. A file larger than chunk_size becomes several file frames
// with the same name and "offset"/"file_size" keys, each carrying the sha256 of its own body,
// so memory stays bounded by one chunk whatever the file size.
class Writer {
public:
  using Warn = std::function<void(const std::string&)>;

  Writer(int out_fd, std::string out_name, WriterConfig options = {}, Warn warn = {});

  // Adds a regular file, or a folder with everything below it (sorted by name). Symbolic links
  // and special files inside a folder are skipped with a warning; a path given here is followed.
  // Below it, every entry is opened relative to its folder's descriptor with O_NOFOLLOW (and
  // O_NONBLOCK), so another user who swaps a folder or file for a link or a FIFO while pack
  // runs cannot make it read outside the tree, or stall it.
  Result<void> add_path(const std::string& path);

  // Adds everything read from `in_fd` as data frames of chunk_size bytes (at least one frame).
  Result<void> add_stream(int in_fd, const std::string& in_name);

  std::size_t frames() const { return m_frames; }
  std::size_t files() const { return m_files; }
  std::uint64_t bytes() const { return m_bytes; }

private:
  // `dir_fd` and `fd` are open and borrowed; `path` names them in messages, `name` is stored.
  Result<void> add_tree(int dir_fd, const std::string& path, const std::string& name);
  Result<void> add_file(int fd, const std::string& path, const std::string& name);
  Result<void> emit(nlohmann::json header, std::string_view body);

  int m_out_fd;
  std::string m_out_name;
  WriterConfig m_options;
  Warn m_warn;
  // The output's identity, so packing a folder that holds the output file skips that file.
  dev_t m_out_dev = 0;
  ino_t m_out_ino = 0;
  std::string m_buffer;
  std::string m_spare; // the other half of the double buffer for large files
  std::size_t m_frames = 0;
  std::size_t m_files = 0;
  std::uint64_t m_bytes = 0;
};

} // namespace netlab::framefile
