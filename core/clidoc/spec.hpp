// A CLI-library-neutral description of netlab's command line, from which completion scripts and
// the man page are generated (so they cannot drift from --help).
#pragma once

#include <string>
#include <vector>

namespace netlab::clidoc {

struct OptionSpec {
  std::vector<std::string> names; // "-m", "--message"; empty for a positional
  std::string value_name;         // "FILE", "N"; empty for a flag
  enum class Hint { none, file, directory, choices } hint = Hint::none;
  std::vector<std::string> choices;
  std::string help;
  bool repeatable = false;

  bool takes_value() const { return !value_name.empty(); }
  bool positional() const { return names.empty(); }
};

struct CommandSpec {
  std::string name;
  std::string summary;
  std::string description;
  std::string example; // the footer text after "Example:"
  std::vector<OptionSpec> options;
  std::vector<OptionSpec> positionals;
};

struct ProgramSpec {
  std::string name = "netlab";
  std::string version;
  std::string summary;
  std::vector<OptionSpec> options;
  std::vector<CommandSpec> commands;
};

// Completion menus show one line; --help and the man page keep the whole text.
inline std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  auto line = text.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == ':')) {
    line.pop_back();
  }
  return line;
}

std::string bash_completion(const ProgramSpec& program);
std::string zsh_completion(const ProgramSpec& program);
std::string fish_completion(const ProgramSpec& program);
// roff for man(1), section 1.
std::string man_page(const ProgramSpec& program);

} // namespace netlab::clidoc
