// Reads frame files (protocol.md §2) back: verifies every frame, writes each file atomically
// inside the target folder, or lists the contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/util/result.hpp"

namespace netlab::framefile {

struct ReaderConfig {
  std::string dir = "."; // target folder for file frames
  bool list = false;     // report names and sizes, write nothing
  bool force = false;    // replace existing files
  int data_fd = 1;       // where data-frame bodies go
  std::string data_name = "stdout";
  std::size_t read_size = 1 << 20;
};

struct ReaderEvents {
  // In list mode: one call per file (`name`, total size) and per data frame (empty name).
  std::function<void(const std::string& name, std::uint64_t size)> listed;
  std::function<void(const std::string& message)> warn;
};

struct ReaderStats {
  std::size_t frames = 0;
  std::size_t files = 0;
  std::uint64_t data_bytes = 0;
};

// Reads frames from `in_fd` until end of stream. Files already complete and verified when an
// error occurs stay in place; the file being written is removed. Errors name the frame number
// and, for stream damage, the byte offset.
Result<ReaderStats> read_frames(int in_fd, const std::string& in_name, const ReaderConfig& options,
                                const ReaderEvents& events = {});

} // namespace netlab::framefile
