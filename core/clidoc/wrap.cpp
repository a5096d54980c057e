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
    auto words = shell_words(line);
    std::string current;
    std::size_t i = 0;
    for (; i < words.size() && !words[i].starts_with('#'); ++i) {
      if (!current.empty() && current.size() + 1 + words[i].size() + 2 > width) {
        out += current + " \\\n";
        current = "  " + words[i];
      } else {
        current += (current.empty() ? "" : " ") + words[i];
      }
    }
    // A word starting with # starts a comment, to the end of the line, and a trailing backslash
    // there is text, not a continuation: a comment that does not fit beside the command goes
    // below it, on lines that are each a comment.
    if (i < words.size()) {
      std::size_t comment_size = 0;
      for (std::size_t j = i; j < words.size(); ++j) {
        comment_size += (j == i ? 0 : 1) + words[j].size();
      }
      if (!current.empty() && current.size() + 1 + comment_size > width) {
        out += current + "\n";
        current = "  ";
      }
      for (std::size_t j = i; j < words.size(); ++j) {
        bool fresh = current.empty() || current == "  ";
        if (!fresh && current.size() + 1 + words[j].size() > width) {
          out += current + "\n";
          current = "  # " + words[j];
        } else {
          current += (fresh ? "" : " ") + words[j];
        }
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
