// Shared option helpers.
#include "cmd/common.hpp"
#include "cmd/values.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "core/ssh/client_setup.hpp"
#include "core/util/error.hpp"

namespace netlab::cmd {

net::Address parse_address_arg(const std::string& text, net::AddressRules rules) {
  return value_or_usage(net::parse_address(text, rules));
}

CLI::Option* add_port_file(CLI::App& app, std::string& target) {
  return app.add_option("--port-file", target, "write the bound port to FILE once listening (for scripts)")
      ->type_name("FILE");
}

void add_connection_limits(CLI::App& app, std::size_t& max_conns, AccessOptions& access, double& idle_timeout_s,
                           const std::string& idle_help) {
  as_count(app.add_option("--max-conns", max_conns, "refuse connections beyond N open at once")->capture_default_str(),
           1);
  add_access_options(app, access);
  as_duration(app.add_option("--idle-timeout", idle_timeout_s, idle_help)->capture_default_str());
}

void add_access_options(CLI::App& app, AccessOptions& target, bool per_ip_limit) {
  CLI::Validator cidr(
      [](std::string& text) {
        auto parsed = net::parse_cidr(text);
        return parsed ? std::string() : parsed.error();
      },
      "");
  app.add_option("--allow-from", target.allow_from,
                 "let in only peers in CIDR: 10.0.0.0/8, 2001:db8::/32 or one address (repeatable)")
      ->type_name("CIDR")
      ->check(cidr);
  app.add_option("--deny-from", target.deny_from, "refuse peers in CIDR, even if an --allow-from matches (repeatable)")
      ->type_name("CIDR")
      ->check(cidr);
  if (per_ip_limit) {
    app.add_option("--max-conns-per-ip", target.max_conns_per_ip,
                   "refuse connections beyond N open at once from one address (0: no limit)")
        ->capture_default_str();
    as_count(app.get_option("--max-conns-per-ip"), 0);
  }
}

bool has_access_options(const AccessOptions& options) {
  return !options.allow_from.empty() || !options.deny_from.empty() || options.max_conns_per_ip != 0;
}

net::AccessPolicy access_policy(const AccessOptions& options, const net::Address& address) {
  if (address.is_unix() && has_access_options(options)) {
    throw UsageError(fmt::format("--allow-from, --deny-from and --max-conns-per-ip need a TCP address: peers of {} "
                                 "have no IP address (the socket file's permissions decide who may connect)",
                                 address.to_string()));
  }
  auto parse_all = [](const std::vector<std::string>& texts, const char* option) {
    std::vector<net::Cidr> rules;
    for (const auto& text : texts) {
      rules.push_back(value_or_usage(net::parse_cidr(text), std::string(option) + ":"));
    }
    return rules;
  };
  net::AccessPolicy policy;
  policy.allow_from = parse_all(options.allow_from, "--allow-from");
  policy.deny_from = parse_all(options.deny_from, "--deny-from");
  policy.max_conns_per_ip = options.max_conns_per_ip;
  return policy;
}

void add_ssh_client_options(CLI::App& app, SshClientOptions& target, const std::string& group) {
  std::vector<CLI::Option*> added;
  // Repeatable options take exactly their values per occurrence (allow_extra_args(false)), so
  // `-i KEY HOST` never swallows the host.
  added.push_back(app.add_option("-i,--identity,--ssh-identity", target.identity_files,
                                 "private key to offer (repeatable; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa; "
                                 "ssh-agent first)")
                      ->type_name("FILE")
                      ->allow_extra_args(false));
  added.push_back(app.add_option("--known-hosts", target.known_hosts,
                                 "known_hosts file to check host keys against (default ~/.ssh/known_hosts)")
                      ->type_name("FILE"));
  added.push_back(app.add_flag("--accept-new", target.accept_new,
                               "add unknown hosts' keys to the known_hosts file (a changed key is still refused)"));
  added.push_back(app.add_flag("--no-agent", target.no_agent, "do not ask ssh-agent (SSH_AUTH_SOCK) for keys"));
  added.push_back(app.add_option("--passphrase-env", target.passphrase_env,
                                 "decrypt encrypted keys with the passphrase in $VAR (then removed from our "
                                 "environment)")
                      ->type_name("VAR"));
  added.push_back(app.add_option("--password-env", target.password_env,
                                 "password authentication with the password in $VAR (then removed from our "
                                 "environment)")
                      ->type_name("VAR"));
  added.push_back(app.add_option("--password-file", target.password_file,
                                 "password authentication with the first line of FILE (refused unless only its "
                                 "owner may read it)")
                      ->type_name("FILE"));
  added.push_back(
      app.add_option("-l,--user", target.user, "log in as USER where the host does not say user@")->type_name("USER"));
  added.push_back(
      as_count(app.add_option("-p,--port", target.port, "connect to PORT where the host does not say :port"), 1, 65535,
               "PORT"));
  added.push_back(app.add_option("-F,--config", target.config,
                                 "read Host, HostName, User, Port, IdentityFile from this ssh_config (default "
                                 "~/.ssh/config)")
                      ->type_name("FILE"));
  added.push_back(as_duration(app.add_option("--connect-timeout", target.connect_timeout_s,
                                             "give up on a host that has not connected after SECONDS (exit 255; "
                                             "pool-run: its jobs go to the other hosts), and on SFTP that has not "
                                             "started SECONDS later (exit 124)")
                                  ->capture_default_str(),
                              DurationBounds{0, true}));
  if (!group.empty()) {
    for (auto* option : added) {
      option->group(group);
    }
  }
}

SshClientSettings ssh_client_settings(const SshClientOptions& options, bool may_prompt) {
  ssh::ClientConfig flags;
  flags.identity_files = options.identity_files;
  flags.known_hosts = options.known_hosts;
  flags.accept_new = options.accept_new;
  flags.config = options.config;
  flags.user = options.user;
  flags.port = options.port;
  flags.connect_timeout = Seconds(options.connect_timeout_s);
  SshClientSettings settings;
  settings.connect = value_or_usage(ssh::make_connect_config(flags));
  settings.credentials.identity_files = options.identity_files;
  settings.credentials.passphrase_env = options.passphrase_env;
  settings.credentials.password_env = options.password_env;
  settings.credentials.password_file = options.password_file;
  settings.credentials.use_agent = !options.no_agent;
  settings.credentials.may_prompt = may_prompt;
  return settings;
}

void set_example(CLI::App& app, const std::string& example) { app.footer("Example:\n" + example); }

bool is_tty(int fd) { return ::isatty(fd) == 1; }

void refuse_given(const CLI::App& app, std::initializer_list<const char*> names, const std::string& context) {
  std::vector<std::string> given;
  for (const char* name : names) {
    const auto* option = app.get_option_no_throw(name);
    if (option != nullptr && option->count() > 0) {
      given.emplace_back(name);
    }
  }
  if (given.empty()) {
    return;
  }
  std::string list;
  for (std::size_t i = 0; i < given.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == given.size() ? " and " : ", ") + given[i];
  }
  throw UsageError(fmt::format("{} only {} with {}", list, given.size() == 1 ? "goes" : "go", context));
}

} // namespace netlab::cmd
