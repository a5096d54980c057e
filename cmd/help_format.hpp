// --help as a Unix tool writes it: metavariables that say what a value is (ADDR, SECONDS, FILE),
// defaults in the option's own units, sets of choices spelled out, one line per command in the
// top-level list, and text wrapped at word boundaries to the terminal (80 columns when stdout is
// not one). No CLI11 type names or validator wording reach the user.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

namespace netlab::cmd {

// The formatter for the root app; set it before adding subcommands, which inherit it.
std::shared_ptr<CLI::Formatter> make_help_formatter();

// Columns to wrap help to: the terminal's width when stdout is one (within 60..160), else 80.
std::size_t help_width();

} // namespace netlab::cmd
