// A file that appears under its name only when complete: written to a temporary file in the
// same folder and renamed into place, so a failure mid-write never leaves a half file.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::framefile {

class AtomicFile {
public:
  AtomicFile() = default;
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Creates the temporary file beside `path` (same folder, hence same file system for rename).
  Result<void> open(const std::string& path);
  Result<void> write(std::string_view data);
  // Sets the permission bits, closes and renames over `path` (replacing a file there).
  Result<void> commit(mode_t mode);
  // Drops the temporary file; safe to call at any time.
  void discard();

  bool is_open() const { return m_fd >= 0; }
  int fd() const { return m_fd; }
  const std::string& path() const { return m_path; }

private:
  int m_fd = -1;
  std::string m_path;
  std::string m_temp;
};

// The permission bits a new file gets without an explicit mode: 0666 minus the umask.
mode_t default_file_mode();

} // namespace netlab::framefile
