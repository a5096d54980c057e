// Shared option helpers.
#include "cmd/common.hpp"

#include <unistd.h>

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

void set_example(CLI::App& app, const std::string& example) { app.footer("Example:\n" + example); }

bool is_tty(int fd) { return ::isatty(fd) == 1; }

} // namespace netlab::cmd
