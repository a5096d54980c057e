// A remote file's SHA-256 computed by the host itself, so that verifying a transfer costs one
// short command instead of a second transfer of the file.
#pragma once

#include <optional>
#include <string>

#include <libssh/libssh.h>

#include "core/ssh/session.hpp"

namespace netlab::ssh {

class RemoteDigest {
public:
  // Starts hashing `path` on its own channel and returns at once, so a download can run while the
  // host reads the file (the same bytes either way: a file changed in between shows as a
  // mismatch). Uses OpenSSL's tool when the host has it, several times faster than coreutils'.
  RemoteDigest(ssh_session session, const std::string& path);

  // Waits for the digest: 64 lowercase hex digits, or nothing when the host could not compute
  // it (no hashing tool, a shell that is not POSIX, an unreadable file), in which case the
  // caller falls back to reading the file back.
  std::optional<std::string> finish();

  // The command run on the host, for the tests.
  static std::string command(const std::string& path);

private:
  ChannelPtr m_channel;
};

} // namespace netlab::ssh
