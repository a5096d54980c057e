// Wrapping shell command lines for help and the man page.
#include <string>
#include <vector>

#include "core/clidoc/spec.hpp"

namespace netlab::clidoc {
namespace {

// Splits a shell command line into words at spaces outside quotes, so a long example can be
// wrapped with `\` continuations without changing what it means.
std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ' ') {
      if (!word.empty()) {
        words.push_back(word);
      }
      word.clear();
      continue;
    }
    word += c;
  }
  if (!word.empty()) {
    words.push_back(word);
  }
  return words;
}

} // namespace

std::string wrap_command_lines(const std::string& example, std::size_t width) {
  std::string out;
  std::size_t start = 0;
  while (start <= example.size()) {
    auto end = example.find('\n', start);
    std::string line = example.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string current;
    for (const auto& word : shell_words(line)) {
      if (!current.empty() && current.size() + 1 + word.size() + 2 > width) {
        out += current + " \\\n";
        current = "  " + word;
      } else {
        current += (current.empty() ? "" : " ") + word;
      }
    }
    out += current + "\n";
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  if (!out.empty()) {
    out.pop_back();
  }
  return out;
}

} // namespace netlab::clidoc
