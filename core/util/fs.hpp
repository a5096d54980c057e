// Small file helpers used by several commands.
#pragma once

#include <string>

#include "core/util/result.hpp"

namespace netlab::fs {

// Writes `content` to a temporary file beside `path`, then renames it into place, so a reader
// (a script waiting for a port file) never sees a half-written file.
Result<void> write_file_atomic(const std::string& path, const std::string& content);

Result<std::string> read_file(const std::string& path);

// Reads a file holding a secret (a password). Like ssh with private keys, refuses one that group
// or others may read or write (any of the 077 bits), checked on the opened descriptor, and one
// that is not a regular file. The error is one line naming the path and the mode.
Result<std::string> read_private_file(const std::string& path);

// Raises the soft open-file limit to the hard limit; servers call it before accepting.
void raise_fd_limit();

} // namespace netlab::fs
