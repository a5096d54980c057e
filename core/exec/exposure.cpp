// exec-server's exposure rules (see exposure.hpp).
#include "core/exec/exposure.hpp"

#include <fmt/format.h>

namespace netlab::exec {

Result<void> check_modes(const ExposureConfig& config) {
  if (config.legacy && config.token) {
    return fail_exit(k_exit_usage, "--protocol legacy has no authentication, so a token would protect nothing; drop "
                                   "--token-file/NETLAB_TOKEN or use the framed protocol");
  }
  if (config.allow_list && (config.shell || config.legacy)) {
    return fail_exit(k_exit_usage, "--allow cannot be enforced on shell command lines; use it without --shell and "
                                   "without --protocol legacy");
  }
  if (config.tls && (config.legacy || config.address.is_unix())) {
    return fail_exit(k_exit_usage, config.legacy ? "--tls is for the framed protocol" : "--tls needs a TCP address");
  }
  return {};
}

Result<bool> reachable_only_locally(const net::Address& address) {
  if (address.is_unix()) {
    return true;
  }
  auto endpoints = net::resolve(address);
  if (!endpoints) {
    return fail_exit(k_exit_usage, endpoints.error(), endpoints.code());
  }
  for (const auto& endpoint : *endpoints) {
    if (!endpoint.is_loopback()) {
      return false;
    }
  }
  return true;
}

Result<void> check_exposure(const ExposureConfig& config) {
  NETLAB_TRY(bool local, reachable_only_locally(config.address));
  if (local || config.insecure) {
    return {};
  }
  auto where = config.address.to_string();
  if (!config.legacy && !config.tls) {
    return fail_exit(k_exit_usage,
                     fmt::format("refusing to serve non-loopback {} without --tls: commands, their input and output "
                                 "would cross the network in clear and could be changed on the way (add --tls with "
                                 "a token, or --insecure to do it anyway)",
                                 where));
  }
  if (config.legacy) {
    return fail_exit(k_exit_usage,
                     fmt::format("refusing to serve the unauthenticated legacy protocol on non-loopback {}: anyone "
                                 "who can connect runs shell commands (add --insecure to do it anyway)",
                                 where));
  }
  if (!config.token) {
    return fail_exit(k_exit_usage,
                     fmt::format("refusing to listen on non-loopback {} without a token: anyone who can connect "
                                 "could run commands (give --token-file FILE or NETLAB_TOKEN, or --insecure)",
                                 where));
  }
  return {};
}

std::optional<std::string> no_token_warning(const ExposureConfig& config) {
  if (config.token || config.address.is_unix()) {
    return std::nullopt;
  }
  return fmt::format("warning: no token: every local user can connect to {} and run commands as this user; {}",
                     config.address.port == 0 ? config.address.host + " (the port below)" : config.address.to_string(),
                     config.legacy ? "listen on a unix: socket instead"
                                   : "give --token-file FILE (or NETLAB_TOKEN) or listen on a unix: socket");
}

} // namespace netlab::exec
