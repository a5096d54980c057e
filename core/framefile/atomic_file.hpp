// A file that appears under its name only when complete: written to a temporary file in the
// same folder and renamed into place, so a failure mid-write never leaves a half file.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/util/fd.hpp"
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
  // The folder part of `path` is followed like any path: use this for the user's own paths.
  Result<void> open(const std::string& path);
  // Creates the temporary file in the folder open as `dir_fd` (duplicated, the caller keeps
  // its descriptor), to become `name` there: a single component, never resolved as a path, so
  // a folder swapped for a symbolic link after `dir_fd` was opened changes nothing. `shown` is
  // how messages name the file. The temporary name is short (`.netlab-XXXXXX`), so any name
  // the file system allows works, and is created with O_EXCL|O_NOFOLLOW, mode 0600.
  Result<void> open_in(int dir_fd, const std::string& name, const std::string& shown);
  Result<void> write(std::string_view data);
  // Sets the permission bits, closes and renames over the name. With `replace` false an existing
  // file of that name is left alone and the commit fails with EEXIST (checked by the kernel at
  // the rename, so no file can slip in between a check and the rename).
  Result<void> commit(mode_t mode, bool replace = true);
  // The permission bits for a commit that replaces a file the user named (pack -o): those of
  // the regular file that was there at open(), as a shell's `>` keeps them, so an output made
  // private (chmod 600) stays private; `fallback` when there was none. The new file takes the
  // old one's owner and group where the kernel allows (root); otherwise, if its group differs,
  // the group bits are dropped rather than granted to this user's group.
  mode_t replacement_mode(mode_t fallback);
  // Drops the temporary file; safe to call at any time.
  void discard();

  bool is_open() const { return static_cast<bool>(m_fd); }
  int fd() const { return m_fd.get(); }
  const std::string& path() const { return m_shown; }

private:
  Fd m_fd;
  Fd m_dir_fd;
  // The regular file `name` held when the temporary file was made, if any.
  std::optional<struct stat> m_existing;
  std::string m_name;
  std::string m_shown;
  std::string m_temp;
};

// While one of these lives, SIGINT, SIGTERM and SIGHUP remove the temporary file of the
// AtomicFile open at that moment and end the process with 128 + the signal's number, so an
// interrupted pack or unpack leaves no hidden half file behind. For commands without an event
// loop of their own; the previous handlers come back when it goes.
class RemoveTemporaryOnSignal {
public:
  RemoveTemporaryOnSignal();
  ~RemoveTemporaryOnSignal();
  RemoveTemporaryOnSignal(const RemoveTemporaryOnSignal&) = delete;
  RemoveTemporaryOnSignal& operator=(const RemoveTemporaryOnSignal&) = delete;
};

// The permission bits a new file gets without an explicit mode: 0666 minus the umask.
mode_t default_file_mode();
// `mode` as a received file may have it: permission bits only (no set-id or sticky bit), minus
// the umask, as OpenSSH's sftp does without -p.
mode_t received_file_mode(mode_t mode);

} // namespace netlab::framefile
