// Rewrites CLI11's messages by their known shapes; anything unknown passes through unchanged.
#include "cmd/usage_errors.hpp"

#include "core/util/spelling.hpp"

#include <regex>
#include <sstream>
#include <vector>

namespace netlab::cmd {
namespace {

std::string quoted_list(const std::string& words, bool reverse) {
  std::istringstream in(words);
  std::vector<std::string> list;
  std::string word;
  while (in >> word) {
    list.push_back(word);
  }
  if (reverse) {
    // CLI11 lists the words it did not expect last first.
    std::reverse(list.begin(), list.end());
  }
  std::string out;
  for (const auto& item : list) {
    out += (out.empty() ? "'" : ", '") + item + "'";
  }
  return out;
}

bool looks_like_option(const std::string& word) { return word.size() > 1 && word[0] == '-' && word != "--"; }

} // namespace

UsageMessage unknown_option(const CLI::App& app, const std::string& word) {
  auto typed = word.substr(0, word.find('='));
  std::vector<std::string> names;
  for (const auto* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) {
      names.push_back("--" + name);
    }
  }
  if (auto best = spelling::closest(typed, names); !best.empty()) {
    return {"unknown option '" + typed + "' (did you mean " + best + "?)", false};
  }
  return {"unknown option '" + typed + "'"};
}

bool names_option(const CLI::App& app, const std::string& word) {
  if (!looks_like_option(word)) {
    return false;
  }
  auto name = word.starts_with("--") ? word.substr(0, word.find('=')) : word.substr(0, 2);
  return app.get_option_no_throw(name) != nullptr;
}

std::string first_unknown_option(const CLI::App& app) {
  for (const auto& word : app.remaining()) {
    if (word == "--") {
      break;
    }
    if (looks_like_option(word) && !names_option(app, word)) {
      return word;
    }
    if (app.get_prefix_command()) {
      break;
    }
  }
  return {};
}

UsageMessage describe_parse_error(const CLI::ParseError& error, const CLI::App* app) {
  std::string message = error.what();
  std::replace(message.begin(), message.end(), '\n', ' ');
  std::smatch m;
  // A value validator (ours from cmd/values, a CIDR check, a set): "--x: what is wrong".
  if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) {
    static const std::regex not_in(R"(^(\S+): (.*) not in \{(.*)\}$)");
    if (std::regex_match(message, m, not_in)) {
      std::string list;
      for (char c : m[3].str()) {
        list += c == ',' ? std::string(", ") : std::string(1, c);
      }
      return {m[1].str() + ": '" + m[2].str() + "' is not one of " + list, false};
    }
    return {message, false};
  }
  static const std::regex conversion(R"(^Could not convert: (\S+) = (.*)$)");
  if (std::regex_match(message, m, conversion)) {
    return {m[1].str() + ": '" + m[2].str() + "' is not a valid value", false};
  }
  static const std::regex not_allowed(R"(^The value (.*) is not an allowed value for (\S+)$)");
  if (std::regex_match(message, m, not_allowed)) {
    return {m[2].str() + ": '" + m[1].str() + "' is not allowed", false};
  }
  static const std::regex extras(R"(^The following arguments? (?:was|were) not expected: (.*)$)");
  if (std::regex_match(message, m, extras)) {
    // A word that looks like an option is an unknown option (a typo, or one of another command).
    std::istringstream words(m[1].str());
    std::string word;
    std::vector<std::string> all;
    while (words >> word) {
      all.push_back(word);
    }
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (looks_like_option(*it)) {
        return app != nullptr ? unknown_option(*app, *it)
                              : UsageMessage{"unknown option '" + it->substr(0, it->find('=')) + "'"};
      }
    }
    auto list = quoted_list(m[1].str(), true);
    bool several = list.find(", ") != std::string::npos;
    return {std::string("unexpected argument") + (several ? "s " : " ") + list};
  }
  static const std::regex typed_missing(R"(^(\S+): \d+ required \S+ missing$)");
  if (std::regex_match(message, m, typed_missing)) {
    return {m[1].str().starts_with("-") ? m[1].str() + " needs a value" : "missing " + m[1].str()};
  }
  static const std::regex required(R"(^(\S+) is required$)");
  if (std::regex_match(message, m, required)) {
    return {"missing " + m[1].str()};
  }
  static const std::regex at_most(R"(^(\S+): At Most (\d+) required but received (\d+)$)");
  if (std::regex_match(message, m, at_most)) {
    return {m[1].str() + " given " + m[3].str() + " times; it takes " +
            (m[2].str() == "1" ? std::string("one value") : m[2].str() + " values")};
  }
  static const std::regex at_least(R"(^(\S+): At least (\d+) required but received (\d+)$)");
  if (std::regex_match(message, m, at_least)) {
    return {m[1].str() + " needs " + m[2].str() + " value" + (m[2].str() == "1" ? "" : "s") + " (got " + m[3].str() +
            ")"};
  }
  static const std::regex exactly(R"(^Expected exactly (\d+) arguments to (\S+), got (\d+)$)");
  if (std::regex_match(message, m, exactly)) {
    return {m[2].str() + " takes " + m[1].str() + " values (got " + m[3].str() + ")"};
  }
  static const std::regex excludes(R"(^(\S+) excludes (\S+)$)");
  if (std::regex_match(message, m, excludes)) {
    return {m[1].str() + " cannot be used with " + m[2].str()};
  }
  static const std::regex flag_value(R"(^(\S+): too many inputs for a flag$)");
  if (std::regex_match(message, m, flag_value)) {
    return {m[1].str() + " is a flag and takes no value"};
  }
  return {message};
}

} // namespace netlab::cmd
