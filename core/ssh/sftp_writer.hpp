// SFTP uploads with many writes in flight, as OpenSSH's sftp does. libssh 0.10's sftp_write waits
// for each write's reply, so an upload moves one chunk per round trip: fine on loopback, a tenth
// of the link or less over a WAN. libssh 0.11 adds asynchronous writes; until Debian ships it, this
// speaks the few SFTP v3 requests an upload needs (open, write, close) on a channel of its own,
// over libssh's SSH. Everything else (stat, mkdir, chmod, reads) stays with libssh's SFTP client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <libssh/libssh.h>

#include "core/ssh/session.hpp"
#include "core/ssh/sftp_wire.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

class SftpWriter {
public:
  // Bytes per write request and requests in flight: 2 MiB outstanding, the channel window
  // OpenSSH's sshd grants, in chunks its sftp-server takes without question.
  static constexpr std::size_t k_chunk = 64 * 1024;
  static constexpr std::size_t k_in_flight = 32;

  // Starts the "sftp" subsystem on a new channel of `session`.
  static Result<std::unique_ptr<SftpWriter>> start(ssh_session session);

  // Opens `path` for writing, created with `mode` if new and truncated if not. One file at a time.
  Result<void> open(const std::string& path, std::uint32_t mode);
  // Sends `data` (at most k_chunk bytes) at the next offset, waiting only while k_in_flight
  // writes are unanswered. A failed earlier write is reported here or at close().
  Result<void> write(std::string_view data);
  // Waits for every write's answer, then closes the file. The first failure is the result.
  Result<void> close();

private:
  explicit SftpWriter(ssh_session session, ChannelPtr channel)
      : m_session(session), m_channel(std::move(channel)) {}
  Result<void> send(std::string_view bytes);
  // Reads one whole packet from the channel.
  Result<sftp_wire::Packet> receive();
  // Takes one answer to an outstanding request; a failure status becomes the error.
  Result<void> take_status(const std::string& what);
  std::uint32_t next_id() { return ++m_last_id; }

  ssh_session m_session;
  ChannelPtr m_channel;
  std::string m_in;      // bytes read from the channel, not yet parsed
  std::string m_handle;  // of the open file; empty when none
  std::string m_path;
  std::uint64_t m_offset = 0;
  std::size_t m_waiting = 0; // writes sent and not yet answered
  bool m_broken = false;     // the channel failed or fell out of step: nothing more can be said
  std::uint32_t m_last_id = 0;
};

} // namespace netlab::ssh
