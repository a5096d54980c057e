// SFTP transfers with many requests in flight, as OpenSSH's sftp keeps them. libssh 0.10's
// sftp_write waits for each write's answer, so an upload moved one chunk per round trip: fine on
// loopback, a quarter of sftp's speed over a 10 ms round trip. Its reads can be pipelined, but one
// channel never has more than libssh's 1.28 MB window in flight, so large downloads spread their
// reads over up to four channels. libssh 0.11 adds asynchronous writes; until Debian ships it, this speaks the
// few SFTP v3 requests a transfer needs (open, read, write, close) on channels of its own, over
// libssh's SSH. It also lists folders (libssh cuts names at a NUL byte, which hides what a hostile
// server sent), removes and renames (libssh 0.10 cannot send posix-rename@openssh.com). Everything
// else (stat, mkdir, chmod) stays with libssh's SFTP client.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libssh/libssh.h>

#include "core/ssh/session.hpp"
#include "core/ssh/sftp_wire.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

class SftpChannel {
public:
  // Bytes per request and requests in flight per channel: 2 MiB outstanding, the channel window
  // OpenSSH's sshd grants, in chunks its sftp-server takes without question.
  static constexpr std::size_t k_chunk = 64 * 1024;
  static constexpr std::size_t k_in_flight = 32;

  // Starts the "sftp" subsystem on a new channel of `session`.
  static Result<std::unique_ptr<SftpChannel>> start(ssh_session session);

  // Opens `path` for writing, created with `mode` if new and truncated if not; or an existing
  // file for reading. One file at a time per channel.
  Result<void> open_write(const std::string& path, std::uint32_t mode);
  Result<void> open_read(const std::string& path);
  // Creates `path` for writing with `mode`; fails if it exists.
  Result<void> open_new(const std::string& path, std::uint32_t mode);

  // Every entry of the folder `path`, "." and ".." included, names exactly as the server sent
  // them. At most k_max_entries.
  static constexpr std::size_t k_max_entries = 1 << 20;
  Result<std::vector<sftp_wire::NameEntry>> list(const std::string& path);

  Result<void> remove(const std::string& path);
  // Replaces `to` in one step; only where has_extension(sftp_wire::k_posix_rename).
  Result<void> posix_rename(const std::string& from, const std::string& to);
  // The plain rename, which OpenSSH's server refuses when `to` exists.
  Result<void> rename(const std::string& from, const std::string& to);
  // The server offered the extension in its version answer.
  bool has_extension(std::string_view name) const;

  // Sends `data` (at most k_chunk bytes) at the next offset, waiting only while k_in_flight
  // writes are unanswered. A failed earlier write is reported here or at close().
  Result<void> write(std::string_view data);

  // Asks for `length` bytes at `offset`; answers come back in order from take_data().
  Result<void> request_read(std::uint64_t offset, std::uint32_t length);
  // The answer to the oldest read request not yet taken: its bytes, fewer than asked (or none)
  // only at the end of the file.
  Result<std::string> take_data();
  std::size_t waiting() const { return m_pending.size(); }

  // Takes every outstanding answer, then closes the file. The first failure is the result.
  Result<void> close();

private:
  explicit SftpChannel(ssh_session session, ChannelPtr channel) : m_session(session), m_channel(std::move(channel)) {}
  Result<void> open(std::string request, const std::string& path);
  Result<void> send(std::string_view bytes);
  // Reads one whole packet from the channel.
  Result<sftp_wire::Packet> receive();
  // Sends a request and remembers it as outstanding.
  Result<void> request(std::string_view bytes);
  // The answer to the oldest outstanding request. The protocol lets a server answer out of order
  // (OpenSSH's does not), so answers to later requests wait in m_early until their turn.
  Result<sftp_wire::Packet> take_oldest();
  // Takes one answer to an outstanding write or close; a failure status becomes the error.
  Result<void> take_status(const std::string& what);
  // Sends one request that is answered with a status and waits for it.
  Result<void> simple(std::string request, const std::string& what);
  std::uint32_t next_id() { return ++m_last_id; }

  ssh_session m_session;
  ChannelPtr m_channel;
  std::string m_in;     // bytes read from the channel, not yet parsed
  std::string m_handle; // of the open file; empty when none
  std::string m_path;
  std::uint64_t m_offset = 0;
  std::deque<std::uint32_t> m_pending;                          // ids sent, oldest first
  std::unordered_map<std::uint32_t, sftp_wire::Packet> m_early; // answers before their turn
  bool m_reading = false;                                       // the open file was opened for reading
  bool m_broken = false; // the channel failed or fell out of step: nothing more can be said
  std::uint32_t m_last_id = 0;
  std::vector<std::pair<std::string, std::string>> m_extensions; // from the version answer
};

} // namespace netlab::ssh
