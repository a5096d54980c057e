// SFTP put/get of files and folders with size and SHA-256 verification after each file.
#pragma once

#include <cstdint>
#include <string>

#include <libssh/libssh.h>

#include "core/util/result.hpp"

namespace netlab::ssh {

struct TransferStats {
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

// Like scp: when the destination is an existing folder the source's name is added to it. Folders
// need `recursive`. Permission bits are kept. Each file is checked after the copy: the size by
// stat and the SHA-256 by `sha256sum` on the remote side, or, where that is missing, by reading
// the remote file back.
Result<TransferStats> put(ssh_session session, const std::string& local, const std::string& remote, bool recursive);

// A download goes to a temporary name beside the destination and is renamed into place only
// after it verified, so an interrupted or corrupt transfer never replaces a good file.
Result<TransferStats> get(ssh_session session, const std::string& remote, const std::string& local, bool recursive);

} // namespace netlab::ssh
