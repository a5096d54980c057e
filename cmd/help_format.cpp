// A CLI::Formatter whose option lines are built from the metavariable and wrapped by hand.
#include "cmd/help_format.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <sstream>
#include <utility>
#include <vector>

#include "cmd/registry.hpp"
#include "core/clidoc/spec.hpp"

namespace netlab::cmd {
namespace {

constexpr std::size_t k_left_column = 28;

// "SECONDS:POSITIVE" -> "SECONDS"; "TEXT:{tcp,udp}" -> "TEXT".
std::string metavariable(const CLI::Option* option) {
  auto type = option->get_type_name();
  return type.substr(0, type.find(':'));
}

// "{a,b,c}" in a type name -> "a, b, c"; empty when there is no set.
std::string choices(const CLI::Option* option) {
  auto type = option->get_type_name();
  auto open = type.find('{');
  auto close = type.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return {};
  }
  std::string list;
  for (char c : type.substr(open + 1, close - open - 1)) {
    list += c == ',' ? std::string(", ") : std::string(1, c);
  }
  return list;
}

// Fills `text` into lines of at most `width` columns, the first starting after `first` (already
// written, padded to `indent`), the rest indented by `indent`. Words are never split; a word longer
// than a line gets a line of its own.
std::string fill(const std::string& first, const std::string& text, std::size_t indent, std::size_t width) {
  std::string out = first;
  std::size_t column = first.size();
  if (!first.empty() && column >= indent) {
    out += "\n";
    column = 0;
  }
  std::istringstream words(text);
  std::string word;
  bool line_has_words = false;
  while (words >> word) {
    if (line_has_words && column + 1 + word.size() > width) {
      out += "\n";
      column = 0;
      line_has_words = false;
    }
    if (!line_has_words) {
      out += std::string(indent - std::min(indent, column), ' ');
      column = std::max(column, indent);
    } else {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_has_words = true;
  }
  return out + "\n";
}

class HelpFormatter : public CLI::Formatter {
public:
  // A description is filled as one paragraph, except that a line starting with two spaces is an
  // item of a list (select-server's models, one per line) and keeps a line of its own.
  std::string make_option(const CLI::Option* option, bool positional) const override {
    std::string left = "  " + make_option_name(option, positional) + make_option_opts(option);
    std::vector<std::pair<std::size_t, std::string>> blocks;
    std::istringstream lines(make_option_desc(option));
    std::string line;
    while (std::getline(lines, line)) {
      bool item = line.starts_with("  ");
      if (item || blocks.empty() || blocks.back().first != k_left_column) {
        blocks.emplace_back(item ? k_left_column + 2 : k_left_column, line);
      } else {
        blocks.back().second += " " + line;
      }
    }
    if (blocks.empty()) {
      return fill(left, "", k_left_column, help_width());
    }
    std::string out = fill(left, blocks.front().second, blocks.front().first, help_width());
    for (std::size_t i = 1; i < blocks.size(); ++i) {
      out += fill("", blocks[i].second, blocks[i].first, help_width());
    }
    return out;
  }

  std::string make_option_name(const CLI::Option* option, bool positional) const override {
    if (positional) {
      return option->get_name(true, false);
    }
    std::string names;
    for (const auto& name : option->get_snames()) {
      names += (names.empty() ? "-" : ", -") + name;
    }
    for (const auto& name : option->get_lnames()) {
      names += (names.empty() ? "--" : ", --") + name;
    }
    return names;
  }

  std::string make_option_opts(const CLI::Option* option) const override {
    if (option->get_type_size() == 0 || !option->nonpositional()) {
      return {}; // a flag, or a positional whose name already says what it is
    }
    std::string out = " " + metavariable(option);
    if (option->get_type_size_max() > 1) {
      return out; // the metavariable names every value ("LOCAL REMOTE")
    }
    return out;
  }

  std::string make_option_desc(const CLI::Option* option) const override {
    std::string text = option->get_description();
    std::string notes;
    if (auto list = choices(option); !list.empty()) {
      notes += " (one of: " + list + ")";
    }
    if (!option->get_default_str().empty()) {
      notes += " (default: " + option->get_default_str() + ")";
    }
    // After a list of items the notes are a line of their own, not part of the last item.
    bool ends_in_item = text.rfind("\n  ") != std::string::npos;
    return notes.empty() ? text : text + (ends_in_item ? "\n" + notes.substr(1) : notes);
  }

  // CLI11 ends each option group but the last with an empty line and starts the next group (and
  // the command list) with one: two blank lines before "Remote hosts (SSH):" and "Commands:".
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    auto text = CLI::Formatter::make_help(app, std::move(name), mode);
    for (auto at = text.find("\n\n\n"); at != std::string::npos; at = text.find("\n\n\n", at)) {
      text.erase(at, 1);
    }
    return text;
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    const auto* row = find_command(sub->get_name());
    std::string summary = row != nullptr ? std::string(row->summary) : sub->get_description();
    // The command list is one line per command: its column is as narrow as the names allow.
    std::size_t column = 0;
    for (const auto& command : commands()) {
      column = std::max(column, command.name.size() + 4);
    }
    return fill("  " + sub->get_name(), summary, column, help_width());
  }

  // "Example:" and its indented command lines, then prose paragraphs ("Exit status: ...").
  std::string make_footer(const CLI::App* app) const override {
    auto footer = app->get_footer();
    if (footer.empty()) {
      return {};
    }
    std::istringstream lines(footer);
    std::string line;
    std::string out;
    std::string paragraph;
    std::string examples;
    auto flush = [&] {
      if (!examples.empty()) {
        std::istringstream wrapped(clidoc::wrap_command_lines(examples, help_width() - 2));
        std::string example;
        while (std::getline(wrapped, example)) {
          out += "  " + example + "\n";
        }
        examples.clear();
      }
      if (!paragraph.empty()) {
        out += fill("", paragraph, 0, help_width());
        paragraph.clear();
      }
    };
    while (std::getline(lines, line)) {
      if (line.starts_with("  ")) {
        if (!paragraph.empty()) {
          flush();
        }
        examples += (examples.empty() ? "" : "\n") + line.substr(2);
        continue;
      }
      auto colon = line.find(": ");
      bool labelled = line == "Example:" ||
                      (colon != std::string::npos && colon < 24 && std::isupper(static_cast<unsigned char>(line[0])));
      if (labelled || !examples.empty()) {
        flush();
      }
      if (line == "Example:") {
        out += (out.empty() ? "" : "\n") + line + "\n";
        continue;
      }
      paragraph += (paragraph.empty() ? "" : " ") + line;
    }
    flush();
    return out;
  }

  std::string make_description(const CLI::App* app) const override {
    auto text = app->get_description();
    if (text.empty()) {
      return {};
    }
    std::string out;
    std::istringstream paragraphs(text);
    std::string line;
    std::string paragraph;
    // Lines of a description are joined into one paragraph and filled again.
    while (std::getline(paragraphs, line)) {
      paragraph += (paragraph.empty() ? "" : " ") + line;
    }
    return fill("", paragraph, 0, help_width()) + "\n";
  }
};

} // namespace

std::size_t help_width() {
  winsize size{};
  if (::isatty(STDOUT_FILENO) != 0 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return std::clamp<std::size_t>(size.ws_col, 60, 160);
  }
  return 80;
}

std::shared_ptr<CLI::Formatter> make_help_formatter() { return std::make_shared<HelpFormatter>(); }

} // namespace netlab::cmd
