// CLI11 → clidoc. Value hints come from the definition: an explicit complete_as(), else the
// metavariable (FILE, DIR, HOST, COMMAND, ...), else a `{a,b}` set from CLI::IsMember.
#include "cmd/cli_spec.hpp"

#include <map>
#include <sstream>

#include "cmd/registry.hpp"

#ifndef NETLAB_RELEASE_DATE
#define NETLAB_RELEASE_DATE ""
#endif

namespace netlab::cmd {
namespace {

// Annotations live beside the tree they describe; the app tree is built once per process.
std::map<const CLI::Option*, clidoc::Hint>& option_hints() {
  static std::map<const CLI::Option*, clidoc::Hint> hints;
  return hints;
}

std::map<const CLI::App*, clidoc::Hint>& dash_hints() {
  static std::map<const CLI::App*, clidoc::Hint> hints;
  return hints;
}

clidoc::Hint hint_for_metavariable(const std::string& word) {
  if (word == "FILE" || word == "PATH" || word == "LOCAL") {
    return clidoc::Hint::file;
  }
  if (word == "DIR") {
    return clidoc::Hint::directory;
  }
  if (word == "HOST") {
    return clidoc::Hint::host;
  }
  if (word == "COMMAND") {
    return clidoc::Hint::command;
  }
  if (word == "REMOTE") {
    return clidoc::Hint::remote;
  }
  if (word == "VAR" || word == "KEY") {
    return clidoc::Hint::variable;
  }
  return clidoc::Hint::none;
}

// A positional with nothing better to offer completes files, as a shell does for a command
// without a script (pack's VALUEs are FILEs with --frame), except an address: a file name there
// is refused, so nothing is offered.
clidoc::Hint positional_hint(const std::string& name) {
  if (name == "ADDR") {
    return clidoc::Hint::none;
  }
  auto hint = hint_for_metavariable(name);
  return hint == clidoc::Hint::none ? clidoc::Hint::file : hint;
}

std::vector<std::string> parse_choices(const std::string& type) {
  std::vector<std::string> choices;
  auto open = type.find('{');
  auto close = type.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) {
    return choices;
  }
  std::stringstream list(type.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(list, item, ',')) {
    if (!item.empty()) {
      choices.push_back(item);
    }
  }
  return choices;
}

clidoc::OptionSpec describe_option(const CLI::Option& option) {
  clidoc::OptionSpec spec;
  for (const auto& name : option.get_snames()) {
    spec.names.push_back("-" + name);
  }
  for (const auto& name : option.get_lnames()) {
    spec.names.push_back("--" + name);
  }
  spec.help = option.get_description();
  spec.repeatable = option.get_expected_max() > 1;
  if (option.get_expected_max() == 0) {
    return spec; // a flag
  }
  spec.default_value = option.get_default_str();
  auto type = option.get_type_name();
  spec.choices = parse_choices(type);
  spec.value_name = type.substr(0, type.find(':'));
  if (spec.value_name.empty()) {
    spec.value_name = "VALUE";
  }
  if (!spec.choices.empty()) {
    spec.hint = clidoc::Hint::choices;
    return spec;
  }
  // "LOCAL REMOTE": one word per value the option takes at once.
  std::stringstream words(spec.value_name);
  std::string word;
  std::vector<clidoc::Hint> hints;
  while (words >> word) {
    hints.push_back(hint_for_metavariable(word));
  }
  if (hints.size() > 1) {
    spec.value_hints = hints;
  }
  spec.hint = hints.empty() ? clidoc::Hint::none : hints.front();
  return spec;
}

void describe_options(const CLI::App& app, std::vector<clidoc::OptionSpec>& options,
                      std::vector<clidoc::OptionSpec>* positionals) {
  for (const auto* option : app.get_options()) {
    if (option->get_group().empty()) {
      continue; // hidden
    }
    auto spec = describe_option(*option);
    if (!option->nonpositional()) {
      if (positionals == nullptr) {
        continue;
      }
      spec.names.clear();
      spec.value_name = option->get_name();
      spec.hint = spec.choices.empty() ? positional_hint(spec.value_name) : clidoc::Hint::choices;
      spec.value_hints.clear();
    }
    if (auto found = option_hints().find(option); found != option_hints().end()) {
      spec.hint = found->second;
    }
    (option->nonpositional() ? options : *positionals).push_back(std::move(spec));
  }
}

// A footer is "Example:\n" then indented command lines, then prose paragraphs; a paragraph
// starts at a line that opens with a label ("Exit status: ...", "Placeholders: ...").
void split_footer(const std::string& footer, clidoc::CommandSpec& spec) {
  std::stringstream lines(footer);
  std::string line;
  bool in_example = false;
  while (std::getline(lines, line)) {
    if (line == "Example:") {
      in_example = true;
      continue;
    }
    if (in_example && line.starts_with("  ")) {
      spec.example += (spec.example.empty() ? "" : "\n") + line.substr(line.find_first_not_of(' '));
      continue;
    }
    in_example = false;
    if (line.empty()) {
      continue;
    }
    auto colon = line.find(": ");
    bool labelled = colon != std::string::npos && colon < 24 && std::isupper(static_cast<unsigned char>(line[0]));
    if (spec.notes.empty() || labelled) {
      spec.notes.push_back(line);
    } else {
      spec.notes.back() += " " + line;
    }
  }
}

} // namespace

CLI::Option* complete_as(CLI::Option* option, clidoc::Hint hint) {
  option_hints()[option] = hint;
  return option;
}

void complete_after_dashes(CLI::App& app, clidoc::Hint hint) { dash_hints()[&app] = hint; }

clidoc::ProgramSpec describe_cli(const CLI::App& root) {
  clidoc::ProgramSpec program;
  program.version = NETLAB_VERSION;
  program.date = NETLAB_RELEASE_DATE;
  program.summary = "network and concurrency programming from the terminal";
  program.environment = {
      {"NETLAB_TOKEN", "holds the exec token itself (not a file name): exec-server and exec-client use it when "
                       "no --token-file is given. Anyone who can read the environment of the process can read it."},
      {"SSH_AUTH_SOCK", "the ssh-agent socket that ssh-exec and pool-run --ssh ask for keys (unless --no-agent)."},
      {"HOME", "where ssh-exec and pool-run --ssh find ~/.ssh/config, ~/.ssh/known_hosts and the default keys."},
      {"TERM", "passed to the remote side by ssh-exec -t for its pseudo-terminal."},
      {"TMPDIR", "where pool-run keeps output of running jobs that grows past its memory buffer (default /tmp)."},
  };
  describe_options(root, program.options, nullptr);
  for (const auto& command : commands()) {
    const auto* app = root.get_subcommand(std::string(command.name));
    clidoc::CommandSpec spec;
    spec.name = std::string(command.name);
    spec.summary = std::string(command.summary);
    spec.description = app->get_description();
    split_footer(app->get_footer(), spec);
    describe_options(*app, spec.options, &spec.positionals);
    if (auto found = dash_hints().find(app); found != dash_hints().end()) {
      spec.after_dashes = found->second;
    }
    program.commands.push_back(std::move(spec));
  }
  return program;
}

} // namespace netlab::cmd
