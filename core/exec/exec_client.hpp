// exec-client's core: one command or a REPL over the framed exec protocol (protocol.md §3), with
// plain blocking-style sockets and poll(2), since a client has one conversation at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/net/address.hpp"
#include "core/tls/context.hpp"
#include "core/util/duration.hpp"
#include "core/util/result.hpp"

namespace netlab::exec {

struct ExecClientConfig {
  net::Address address;
  // Empty: only servers with `"auth":"none"` can be used.
  std::string token;
  // Send the command as a `shell` string rather than an argv.
  bool shell = false;
  // The remote timeout (0: the server's). The client waits that long plus a margin.
  Seconds timeout{0};
  // One JSON object per command on stdout instead of the raw output.
  bool json = false;
  // With words: run them once. Without: a REPL reading lines from `in_fd`.
  std::vector<std::string> command;
  // Send all of `in_fd` as the command's stdin (one-command mode only).
  bool send_stdin = false;
  // Print the `>>: ` prompt (stdin is a terminal).
  bool interactive = false;
  // For the TCP connect, then again for the TLS handshake and for the server's hello.
  Seconds connect_timeout{10};
  // TLS 1.3 with this client context (null: plain TCP): the pre-shared-key context made from the
  // token, or a certificate-verifying one; `sni` (if given) is the name sent and verified.
  std::shared_ptr<tls::Context> tls;
  std::string sni;
  int in_fd = 0;
  int out_fd = 1;
  int err_fd = 2;
};

// Runs the client and returns the exit status: the remote command's exit code, 128+N for a
// signal, 124 for a timeout (the last command's status in a REPL). Fails with exit code 255 for
// connect, auth and protocol failures, 124 when the server does not answer in time, 130 on a
// second Ctrl-C, and 1 for the rest.
Result<int> run_exec_client(const ExecClientConfig& options);

} // namespace netlab::exec
