// Diagnostics.
#include "core/util/log.hpp"

#include <unistd.h>

#include "core/util/escape.hpp"

namespace netlab::log {
namespace {
std::string g_command;
}

void set_command(std::string_view command) { g_command = std::string(command); }
const std::string& command() { return g_command; }

void line(std::string_view text) {
  std::string out = g_command.empty() ? "netlab: " : "netlab: " + g_command + ": ";
  // Whatever a message quotes (a peer's name, a server's words) cannot reach the terminal raw.
  append_escaped_text(out, text, true);
  out.push_back('\n');
  std::string_view rest = out;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) {
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

} // namespace netlab::log
