// Reads the CLI11 tree into the neutral clidoc::ProgramSpec that completions and the man page use.
#pragma once

#include <CLI/CLI.hpp>

#include "core/clidoc/spec.hpp"

namespace netlab::cmd {

// `root` is the top-level app with every registry command added.
clidoc::ProgramSpec describe_cli(const CLI::App& root);

// What an option's or positional's values are, for completion, where its metavariable does not
// already say it. By default a value named FILE, KEY, PATH or LOCAL is a file, DIR a folder, HOST
// an SSH host and COMMAND a local command line; a set from CLI::IsMember gives choices. `option`
// must outlive the description (it belongs to the app tree); returns `option` for chaining.
CLI::Option* complete_as(CLI::Option* option, clidoc::Hint hint);

// What the words after `--` are in `app` (see clidoc::CommandSpec::after_dashes).
void complete_after_dashes(CLI::App& app, clidoc::Hint hint);

} // namespace netlab::cmd
