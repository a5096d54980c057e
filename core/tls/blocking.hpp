// A Session over a connected non-blocking descriptor, for the poll-style clients (echo-client,
// probe). Failures are one line, with ETIMEDOUT as code when the deadline passed.
#pragma once

#include <string>
#include <string_view>

#include "core/net/socket.hpp"
#include "core/tls/session.hpp"

namespace netlab::tls {

// Runs the (client) handshake to completion. Application bytes that arrive with its last flight
// are appended to `plain`.
Result<void> handshake(int fd, Session& session, std::string& plain, const net::Deadline& deadline);

// Encrypts `plain` and sends it, with anything else the session has queued.
Result<void> send(int fd, Session& session, std::string_view plain, const net::Deadline& deadline);

// Sends whatever the session has queued (handshake replies, close_notify).
Result<void> flush(int fd, Session& session, const net::Deadline& deadline);

// One read from a readable descriptor: decrypted bytes are appended to `plain`. Returns false
// once the peer has closed (close_notify); a transport end without close_notify is a failure.
Result<bool> receive(int fd, Session& session, std::string& plain, const net::Deadline& deadline);

} // namespace netlab::tls
