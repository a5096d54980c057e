// Small file helpers used by several commands.
#pragma once

#include <string>

#include "core/util/result.hpp"

namespace netlab::fs {

// Writes `content` to a temporary file beside `path`, then renames it into place, so a reader
// (a script waiting for a port file) never sees a half-written file.
Result<void> write_file_atomic(const std::string& path, const std::string& content);

Result<std::string> read_file(const std::string& path);

// A server's --port-file, for scripts that wait for it (`probe --wait S --port-file F`). Made
// before the server binds, it removes a file left at `path` by an earlier run (a stale port would
// send a script to a dead server); write() puts the address there atomically once listening, and
// the destructor removes it again if it still holds what we wrote. An empty path does nothing.
class PortFile {
public:
  explicit PortFile(std::string path);
  ~PortFile();
  PortFile(const PortFile&) = delete;
  PortFile& operator=(const PortFile&) = delete;

  // `address` is a port number ("8080") or, for a unix socket, "unix:/path"; a newline follows.
  Result<void> write(const std::string& address);

private:
  std::string m_path;
  std::string m_written;
};

// Reads a file holding a secret (a password). Like ssh with private keys, refuses one that group
// or others may read or write (any of the 077 bits), checked on the opened descriptor, and one
// that is not a regular file. The error is one line naming the path and the mode.
Result<std::string> read_private_file(const std::string& path);

// Raises the soft open-file limit to the hard limit; servers call it before accepting.
void raise_fd_limit();

} // namespace netlab::fs
