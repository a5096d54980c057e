// CLI11 → clidoc. Value hints follow the option's type name: FILE/KEY/PATH complete files,
// DIR directories, and a `{a,b}` set (from CLI::IsMember) completes its members.
#include "cmd/cli_spec.hpp"

#include "cmd/registry.hpp"

namespace netlab::cmd {
namespace {

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
  auto type = option.get_type_name();
  auto open = type.find('{');
  auto close = type.find('}', open == std::string::npos ? 0 : open);
  if (open != std::string::npos && close != std::string::npos) {
    std::string list = type.substr(open + 1, close - open - 1);
    std::size_t at = 0;
    while (at <= list.size()) {
      auto comma = list.find(',', at);
      auto item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      if (!item.empty()) {
        spec.choices.push_back(item);
      }
      if (comma == std::string::npos) {
        break;
      }
      at = comma + 1;
    }
    spec.hint = clidoc::OptionSpec::Hint::choices;
  }
  spec.value_name = type.substr(0, type.find(':'));
  if (spec.value_name.empty()) {
    spec.value_name = "VALUE";
  }
  if (spec.hint == clidoc::OptionSpec::Hint::none) {
    if (spec.value_name == "FILE" || spec.value_name == "KEY" || spec.value_name == "PATH") {
      spec.hint = clidoc::OptionSpec::Hint::file;
    } else if (spec.value_name == "DIR") {
      spec.hint = clidoc::OptionSpec::Hint::directory;
    }
  }
  return spec;
}

void describe_options(const CLI::App& app, std::vector<clidoc::OptionSpec>& options,
                      std::vector<clidoc::OptionSpec>* positionals) {
  for (const auto* option : app.get_options()) {
    if (option->get_group().empty()) {
      continue; // hidden
    }
    if (option->nonpositional()) {
      options.push_back(describe_option(*option));
    } else if (positionals != nullptr) {
      auto spec = describe_option(*option);
      spec.names.clear();
      spec.value_name = option->get_name();
      positionals->push_back(std::move(spec));
    }
  }
}

} // namespace

clidoc::ProgramSpec describe_cli(const CLI::App& root) {
  clidoc::ProgramSpec program;
  program.version = NETLAB_VERSION;
  program.summary = "network and concurrency programming from the terminal";
  describe_options(root, program.options, nullptr);
  for (const auto& command : commands()) {
    const auto* app = root.get_subcommand(std::string(command.name));
    clidoc::CommandSpec spec;
    spec.name = std::string(command.name);
    spec.summary = std::string(command.summary);
    spec.description = app->get_description();
    auto footer = app->get_footer();
    auto marker = footer.find("Example:\n");
    if (marker != std::string::npos) {
      spec.example = footer.substr(marker + 9);
      while (!spec.example.empty() && spec.example.back() == '\n') {
        spec.example.pop_back();
      }
    }
    describe_options(*app, spec.options, &spec.positionals);
    program.commands.push_back(std::move(spec));
  }
  return program;
}

} // namespace netlab::cmd
