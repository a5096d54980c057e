// Helpers every subcommand's option parsing shares.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/net/access.hpp"
#include "core/net/address.hpp"
#include "core/ssh/session.hpp"

namespace netlab::cmd {

// Parses an address argument or throws UsageError naming it.
net::Address parse_address_arg(const std::string& text, net::AddressRules rules = {});

// Adds `--port-file FILE`, identical across servers.
CLI::Option* add_port_file(CLI::App& app, std::string& target);

// Who may connect, as every server spells it.
struct AccessOptions {
  std::vector<std::string> allow_from;
  std::vector<std::string> deny_from;
  std::size_t max_conns_per_ip = 0;
};

// Adds --allow-from and --deny-from (each CIDR checked as it is parsed) and, with
// `per_ip_limit`, --max-conns-per-ip. UDP servers leave the limit out: they have no connections.
void add_access_options(CLI::App& app, AccessOptions& target, bool per_ip_limit = true);

// The limits every TCP server takes, in the same words: --max-conns N, who may connect (above),
// and --idle-timeout SECONDS, whose meaning `idle_help` states for servers where idle is subtle.
void add_connection_limits(CLI::App& app, std::size_t& max_conns, AccessOptions& access, double& idle_timeout_s,
                           const std::string& idle_help = "close connections idle for SECONDS (0: never)");

// The core policy for a server on `address`. Throws UsageError when an option was given for a
// unix socket, whose peers have no IP address to check.
net::AccessPolicy access_policy(const AccessOptions& options, const net::Address& address);

// Whether any of the access options was given.
bool has_access_options(const AccessOptions& options);

// The SSH client options ssh-exec and pool-run --ssh both take, declared once so the names and
// meanings cannot drift apart.
struct SshClientOptions {
  std::vector<std::string> identity_files;
  std::string known_hosts;
  bool accept_new = false;
  bool no_agent = false;
  std::string passphrase_env;
  std::string password_env;
  std::string password_file;
  std::string user;
  int port = 0;
  std::string config;
  double connect_timeout_s = 10;
};

// Adds -i/--identity (also --ssh-identity), --known-hosts, --accept-new, --no-agent,
// --passphrase-env, --password-env, --password-file, -l/--user, -p/--port, -F/--config and
// --connect-timeout, in help group `group` ("" for the default).
void add_ssh_client_options(CLI::App& app, SshClientOptions& target, const std::string& group = "");

// Connection and credential settings from those options. Throws UsageError when a config file
// named with -F cannot be read.
struct SshClientSettings {
  ssh::ConnectConfig connect;
  ssh::CredentialConfig credentials;
};
SshClientSettings ssh_client_settings(const SshClientOptions& options, bool may_prompt);

// Throws UsageError when any of `names` was given on `app`'s command line, naming exactly those:
// `--retries only goes with --client` / `--port-file and --upper only go with a server (not
// --client)`. `context` completes the sentence after "go(es) with".
void refuse_given(const CLI::App& app, std::initializer_list<const char*> names, const std::string& context);

// Adds the conventional example footer.
void set_example(CLI::App& app, const std::string& example);

// Whether a descriptor is a terminal.
bool is_tty(int fd);

} // namespace netlab::cmd
