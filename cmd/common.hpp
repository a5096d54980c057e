// Helpers every subcommand's option parsing shares.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/net/address.hpp"

namespace netlab::cmd {

// Parses an address argument or throws UsageError naming it.
net::Address parse_address_arg(const std::string& text, net::AddressRules rules = {});

// Adds `--port-file FILE`, identical across servers.
CLI::Option* add_port_file(CLI::App& app, std::string& target);

// Adds the conventional example footer.
void set_example(CLI::App& app, const std::string& example);

// Whether a descriptor is a terminal.
bool is_tty(int fd);

} // namespace netlab::cmd
