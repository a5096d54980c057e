// Reads the CLI11 tree into the neutral clidoc::ProgramSpec that completions and the man page use.
#pragma once

#include <CLI/CLI.hpp>

#include "core/clidoc/spec.hpp"

namespace netlab::cmd {

// `root` is the top-level app with every registry command added.
clidoc::ProgramSpec describe_cli(const CLI::App& root);

} // namespace netlab::cmd
