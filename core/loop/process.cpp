// Signal names through glibc's abbreviation table.
#include "core/loop/process.hpp"

#include <signal.h>
#include <string.h>

#include <cstdlib>

namespace netlab::loop {

std::string signal_name(int signum) {
  const char* abbrev = sigabbrev_np(signum);
  return abbrev != nullptr ? std::string(abbrev) : std::to_string(signum);
}

int signal_number(const std::string& name) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    int value = std::atoi(name.c_str());
    return value > 0 && value < NSIG ? value : 0;
  }
  std::string bare = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev != nullptr && bare == abbrev) {
      return i;
    }
  }
  return 0;
}

} // namespace netlab::loop
