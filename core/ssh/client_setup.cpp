#include "core/ssh/client_setup.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "core/util/fs.hpp"

namespace netlab::ssh {

std::string home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const auto* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return "/";
}

Result<ConnectConfig> make_connect_config(const ClientConfig& flags) {
  ConnectConfig options;
  options.home = home_dir();
  options.default_user = flags.user;
  options.default_port = flags.port;
  options.known_hosts = flags.known_hosts.empty() ? options.home + "/.ssh/known_hosts" : flags.known_hosts;
  options.accept_new = flags.accept_new;
  options.connect_timeout = flags.connect_timeout;
  options.identity_files = flags.identity_files;
  std::string config_file = flags.config.empty() ? options.home + "/.ssh/config" : flags.config;
  if (auto text = fs::read_file(config_file)) {
    options.config_text = std::move(*text);
  } else if (!flags.config.empty()) {
    return fail(fmt::format("config {}", text.error()));
  }
  return options;
}

Result<std::vector<HostSpec>> read_hosts_files(const std::vector<std::string>& files) {
  std::vector<HostSpec> hosts;
  for (const auto& file : files) {
    auto text = fs::read_file(file);
    if (!text) {
      return fail(fmt::format("hosts file {}", text.error()));
    }
    auto parsed = parse_hosts_file(*text);
    if (!parsed) {
      return fail(fmt::format("hosts file {}: {}", file, parsed.error()));
    }
    hosts.insert(hosts.end(), parsed->begin(), parsed->end());
  }
  return hosts;
}

Result<std::vector<Target>> prepare_targets(const std::vector<HostSpec>& hosts, ConnectConfig& options,
                                            const CredentialConfig& credentials) {
  std::vector<Target> targets;
  std::vector<std::string> paths;
  for (const auto& spec : hosts) {
    auto target = resolve_target(spec, options);
    if (!target) {
      return fail(fmt::format("{}: {}", spec.label, target.error()));
    }
    for (const auto& path : target->identity_files) {
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) {
        paths.push_back(path);
      }
    }
    targets.push_back(std::move(*target));
  }
  auto loaded = Credentials::load(credentials, paths);
  if (!loaded) {
    return loaded.failure();
  }
  options.credentials = *loaded;
  return targets;
}

} // namespace netlab::ssh
