// The one table of subcommands. Everything that lists commands reads it: the CLI tree, busybox
// dispatch, --install-links, completions, the man page and the registry test.
#pragma once

#include <functional>
#include <span>
#include <string_view>

namespace CLI {
class App;
}

namespace netlab::cmd {

// Runs the parsed subcommand and returns its exit code; throws netlab::Error on failure.
using Runner = std::function<int()>;

// Binds a subcommand's options to `app` (description, options, example footer) and returns the
// function that runs it with the values parsed.
using Setup = Runner (*)(CLI::App& app);

struct Command {
  std::string_view name;
  std::string_view summary;
  Setup setup;
};

std::span<const Command> commands();
const Command* find_command(std::string_view name);

} // namespace netlab::cmd
