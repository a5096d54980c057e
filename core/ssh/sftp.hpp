// SFTP put/get of files and folders with size and SHA-256 verification after each file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <libssh/libssh.h>

#include "core/util/result.hpp"

namespace netlab::ssh {

struct TransferStats {
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

// Bytes and files moved so far, shared by every transfer of a run (several hosts at once), for
// a progress line.
struct TransferMeter {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> files{0};
};

// What put() of `local` will copy: the size of the file, or of every regular file under it.
std::uint64_t local_size(const std::string& local, bool recursive);

// Like scp: when the destination is an existing folder the source's name is added to it. Folders
// need `recursive`. Permission bits are kept. Each file is checked after the copy: the size by
// stat and the SHA-256 by `sha256sum` on the remote side, or, where that is missing, by reading
// the remote file back.
Result<TransferStats> put(ssh_session session, const std::string& local, const std::string& remote, bool recursive,
                          TransferMeter* meter = nullptr);

// A download goes to a temporary name beside the destination and is renamed into place only
// after it verified, so an interrupted or corrupt transfer never replaces a good file.
Result<TransferStats> get(ssh_session session, const std::string& remote, const std::string& local, bool recursive,
                          TransferMeter* meter = nullptr);

} // namespace netlab::ssh
