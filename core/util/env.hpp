// Secrets handed over in environment variables (NETLAB_TOKEN, --password-env).
#pragma once

#include <optional>
#include <string>

namespace netlab::env {

// The value of environment variable `name`, then removed from this process's environment and
// wiped in place in the environment block, so neither children nor /proc/PID/environ (which shows
// the initial block) see it; nullopt when unset. Not thread-safe (unsetenv): call before any
// thread starts.
std::optional<std::string> take_secret(const std::string& name);

} // namespace netlab::env
