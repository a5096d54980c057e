// Small file helpers used by several commands.
#pragma once

#include <string>

#include "core/util/result.hpp"

namespace netlab::fs {

// Writes `content` to a temporary file beside `path`, then renames it into place, so a reader
// (a script waiting for a port file) never sees a half-written file.
Result<void> write_file_atomic(const std::string& path, const std::string& content);

Result<std::string> read_file(const std::string& path);

// Raises the soft open-file limit to the hard limit; servers call it before accepting.
void raise_fd_limit();

} // namespace netlab::fs
