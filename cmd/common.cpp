// Shared option helpers.
#include "cmd/common.hpp"
#include "cmd/values.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "core/util/error.hpp"

namespace netlab::cmd {

net::Address parse_address_arg(const std::string& text, net::AddressRules rules) {
  auto address = net::parse_address(text, rules);
  if (!address) {
    throw UsageError(address.error());
  }
  return *address;
}

CLI::Option* add_port_file(CLI::App& app, std::string& target) {
  return app.add_option("--port-file", target, "write the bound port to FILE once listening (for scripts)")
      ->type_name("FILE");
}

void add_connection_limits(CLI::App& app, std::size_t& max_conns, AccessOptions& access, double& idle_timeout,
                           const std::string& idle_help) {
  as_count(app.add_option("--max-conns", max_conns, "refuse connections beyond N open at once")->capture_default_str(),
           1);
  add_access_options(app, access);
  as_duration(app.add_option("--idle-timeout", idle_timeout, idle_help)->capture_default_str());
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
  app.add_option("--deny-from", target.deny_from,
                 "refuse peers in CIDR, even if an --allow-from matches (repeatable)")
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
      auto cidr = net::parse_cidr(text);
      if (!cidr) {
        throw UsageError(fmt::format("{}: {}", option, cidr.error()));
      }
      rules.push_back(*cidr);
    }
    return rules;
  };
  net::AccessPolicy policy;
  policy.allow_from = parse_all(options.allow_from, "--allow-from");
  policy.deny_from = parse_all(options.deny_from, "--deny-from");
  policy.max_conns_per_ip = options.max_conns_per_ip;
  return policy;
}

void set_example(CLI::App& app, const std::string& example) { app.footer("Example:\n" + example); }

bool is_tty(int fd) { return ::isatty(fd) == 1; }

} // namespace netlab::cmd
