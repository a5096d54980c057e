// SFTP put/get of files and folders with size and SHA-256 verification after each file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <sys/types.h>

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

class TransferGuard;

struct TransferConfig {
  bool recursive = false; // folders too
  // Keep set-id and sticky bits and the access and modification times, like `sftp -p`. Without
  // it a file gets its source's mode & 0777, and a download also loses the local umask's bits.
  bool preserve = false;
  // Folder downloads copy what a remote symbolic link points at, instead of skipping the link.
  bool follow_links = false;
  TransferMeter* meter = nullptr; // shared progress; may be null
  TransferGuard* guard = nullptr; // told when SFTP is up; may be null
};

// What put() of `local` will copy: the size of the file, or of every regular file under it.
std::uint64_t local_size(const std::string& local, bool recursive);

// Like scp: when the destination is an existing folder the source's name is added to it. Folders
// need `recursive`. Each file goes to a temporary name in the destination's folder, is checked
// (the size by stat and the SHA-256 by `sha256sum` or `openssl` on the remote side, or, where
// neither runs, by reading the file back) and only then renamed over `remote`: with
// posix-rename@openssh.com in one step, else by removing the old file first (not atomic). A
// failed or interrupted upload removes its temporary file when the session still allows it and
// never touches `remote`.
Result<TransferStats> put(ssh_session session, const std::string& local, const std::string& remote,
                          const TransferConfig& options);

// A download goes to a temporary file created exclusively beside the destination and is renamed
// into place only after it verified, so an interrupted or corrupt transfer never replaces a good
// file. Folders are created relative to open folder descriptors without following symbolic links,
// and every name a listing holds must be one path component, so nothing is written outside
// `local`. Remote symbolic links in a folder are skipped with a note unless `follow_links`.
Result<TransferStats> get(ssh_session session, const std::string& remote, const std::string& local,
                          const TransferConfig& options);

// The mode a downloaded file or folder gets from its remote `mode`.
mode_t local_mode(std::uint32_t mode, bool preserve);

} // namespace netlab::ssh
