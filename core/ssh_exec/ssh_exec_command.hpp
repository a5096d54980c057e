// ssh-exec as a whole: resolve hosts, load credentials once, run on one host (streaming, status
// passthrough) or many (bounded fan-out, grouped/tagged/JSON output), SFTP transfers first.
#pragma once

#include <string>
#include <vector>

#include "core/ssh/host.hpp"
#include "core/ssh/session.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

struct TransferSpec {
  std::string from;
  std::string to;
};

struct SshExecConfig {
  std::vector<HostSpec> hosts;
  ConnectConfig connect; // `credentials` is filled in by run_ssh_exec
  CredentialConfig credentials;
  std::vector<std::string> command; // may be empty when there are transfers
  std::vector<TransferSpec> puts;
  std::vector<TransferSpec> gets;
  bool recursive = false;
  bool preserve = false;     // --preserve: set-id bits and times survive transfers
  bool follow_links = false; // --follow-links: -r --get copies what remote links point at
  bool pty = false;
  bool tag = false;
  bool json = false;
  int jobs = 32;
  Seconds timeout{0};         // per host: the transfers, then the command, each; 0: none
  bool forward_stdin = false; // one host only: our stdin goes to the command
  bool raw_terminal = false;  // with a pty on a terminal: pass keys through unprocessed
  bool progress = false;      // an SFTP progress line on stderr (a terminal)
  std::string joblog;         // GNU parallel's joblog, one line per host
};

// Returns the exit code: one host → its command's status (255 connect/auth/host key, 124
// timeout, 128+N when signal N stopped it or its transfers). Many hosts (and one host with --tag,
// --json or --joblog) run on pool-run's scheduler, one job per host: 0, else the number of hosts
// that failed up to 100, 101 for more, 255 when no host could be reached; a summary on stderr
// names each failed host and why. Fails (with the exit code above) when something stops the
// command before any host runs, on an interrupt (128+N), and, with one host and default output,
// when that host fails, so main() prints it like every other command's error.
Result<int> run_ssh_exec(const SshExecConfig& config);

} // namespace netlab::ssh
