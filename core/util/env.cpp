// Taking a secret out of the environment.
#include "core/util/env.hpp"

#include <cstdlib>
#include <cstring>

namespace netlab::env {

std::optional<std::string> take_secret(const std::string& name) {
  char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  std::string copy = value;
  explicit_bzero(value, copy.size());
  ::unsetenv(name.c_str());
  return copy;
}

} // namespace netlab::env
