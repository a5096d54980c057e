// A CLI-library-neutral description of netlab's command line, from which completion scripts and
// the man page are generated (so they cannot drift from --help).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace netlab::clidoc {

// What a value is, so each shell can offer the right words for it.
enum class Hint {
  none,      // free text (an address, a number): nothing to offer
  file,      // a local path, completed as `ls` would (folders entered, spaces kept)
  directory, // a local folder
  choices,   // one of `choices`
  host,      // an SSH host: ~/.ssh/config, known_hosts and --hosts-file names
  command,   // a local command line: a program from PATH, then that program's arguments
  remote,    // text for another machine (a remote command or path): nothing local to offer
  variable,  // the name of an environment variable: the exported names
};

struct OptionSpec {
  using Hint = clidoc::Hint;
  std::vector<std::string> names; // "-m", "--message"; empty for a positional
  std::string value_name;         // "FILE", "N", "LOCAL REMOTE"; empty for a flag
  // For the first (or only) value. A positional's is already decided: `none` offers nothing.
  Hint hint = Hint::none;
  // For an option that takes several values at once (`--put LOCAL REMOTE`): one hint per value,
  // in order. Empty for the usual single value, where `hint` says it.
  std::vector<Hint> value_hints;
  std::vector<std::string> choices;
  std::string default_value; // as --help shows it; empty when --help shows none
  std::string help;
  bool repeatable = false;

  bool takes_value() const { return !value_name.empty(); }
  // How many words follow the option name: 0 for a flag, 1 usually, 2 for `--put LOCAL REMOTE`.
  std::size_t arity() const { return takes_value() ? std::max<std::size_t>(1, value_hints.size()) : 0; }
  Hint hint_for_value(std::size_t index) const { return index < value_hints.size() ? value_hints[index] : hint; }
  bool positional() const { return names.empty(); }
};

struct CommandSpec {
  std::string name;
  std::string summary;
  std::string description;
  std::string example;            // the example command lines, one per line, without indentation
  std::vector<std::string> notes; // paragraphs after the example ("Exit status: ...")
  std::vector<OptionSpec> options;
  std::vector<OptionSpec> positionals; // in order; a repeatable one takes every further word
  // What the words after `--` are: a local command line (pool-run), text for a remote machine
  // (exec-client, ssh-exec), or `none` when `--` only ends the options.
  Hint after_dashes = Hint::none;
};

struct EnvironmentSpec {
  std::string name;
  std::string help;
};

struct ProgramSpec {
  std::string name = "netlab";
  // `NAME help [COMMAND]` is `NAME [COMMAND] --help` (main.cpp): completed as a command whose one
  // argument is a command name.
  std::string help_summary = "print a command's options and an example";
  std::string version;
  std::string date; // release date, YYYY-MM-DD, for the man page's .TH line
  std::string summary;
  std::vector<EnvironmentSpec> environment;
  std::vector<OptionSpec> options;
  std::vector<CommandSpec> commands;
};

// A hint as the bash and fish completion engines spell it in their tables: file, dir, host,
// command, remote, var, none, or `w:a,b,c` for choices.
inline std::string hint_word(Hint hint, const std::vector<std::string>& choices) {
  switch (hint) {
  case Hint::file:
    return "file";
  case Hint::directory:
    return "dir";
  case Hint::host:
    return "host";
  case Hint::command:
    return "command";
  case Hint::remote:
    return "remote";
  case Hint::variable:
    return "var";
  case Hint::choices: {
    std::string list;
    for (const auto& choice : choices) {
      list += (list.empty() ? "" : ",") + choice;
    }
    return "w:" + list;
  }
  case Hint::none:
    break;
  }
  return "none";
}

// Completion menus show one line; --help and the man page keep the whole text.
inline std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  auto line = text.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == ':')) {
    line.pop_back();
  }
  return line;
}

// Example command lines (one per line) kept within `width` columns: a longer line continues on
// the next with a trailing backslash, broken only at spaces outside quotes, so the text still
// runs as the same command when pasted into a shell. Example blocks are not filled by man or
// --help, so this is what keeps them inside 80 columns.
std::string wrap_command_lines(const std::string& lines, std::size_t width);

std::string bash_completion(const ProgramSpec& program);
std::string zsh_completion(const ProgramSpec& program);
std::string fish_completion(const ProgramSpec& program);
// roff for man(1), section 1.
std::string man_page(const ProgramSpec& program);

} // namespace netlab::clidoc
