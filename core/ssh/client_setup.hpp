// Turns a command's SSH flags into what connect() needs, the same way for ssh-exec and
// pool-run --ssh: defaults under ~/.ssh, the client config file, every host resolved and every
// key read once, before the first session starts.
#pragma once

#include <string>
#include <vector>

#include "core/ssh/host.hpp"
#include "core/ssh/session.hpp"
#include "core/util/result.hpp"

namespace netlab::ssh {

struct ClientConfig {
  std::vector<std::string> identity_files; // -i / --ssh-identity
  std::string known_hosts;                 // empty: ~/.ssh/known_hosts
  bool accept_new = false;
  std::string config; // empty: ~/.ssh/config when it exists
  std::string user;
  int port = 0;
  Seconds connect_timeout{10};
};

// $HOME, else the password database's home, else "/".
std::string home_dir();

// Connection settings from the flags; fails only when a config file named on the command line
// cannot be read (a missing default one is fine, as with ssh).
Result<ConnectConfig> make_connect_config(const ClientConfig& flags);

// The hosts in each file, in order (hosts-file format: one per line, # comments).
Result<std::vector<HostSpec>> read_hosts_files(const std::vector<std::string>& files);

// Resolves every host and loads every key any of them may use into `options.credentials`, so an
// encrypted key asks for its passphrase once however many sessions follow.
Result<std::vector<Target>> prepare_targets(const std::vector<HostSpec>& hosts, ConnectConfig& options,
                                            const CredentialConfig& credentials);

} // namespace netlab::ssh
