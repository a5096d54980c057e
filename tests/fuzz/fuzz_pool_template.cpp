// libFuzzer target: pool-run's placeholder expander. Input: one flags byte, the template's words
// separated by '\n', a NUL, then the job's inputs separated by NULs. Checked: expanding into a
// reused argv gives what a fresh expansion gives, argv has the expected shape, and in --shell mode
// no input escapes its quoting: when the template's own text is plain, splitting the script the
// way /bin/sh does gives back exactly the argv the same template expands to without --shell, and
// the quoting-context check accepts it; the inputs are also the script's positional parameters.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/exec/request.hpp"
#include "core/pool/template.hpp"

namespace {

using netlab::pool::CommandTemplate;
using netlab::pool::JobValues;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  if (text.empty()) {
    return parts;
  }
  for (std::size_t start = 0;;) {
    auto end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

// Words a shell reads literally, as one word each (no quoting, expansion, comment or blank).
bool plain_words(const std::vector<std::string>& words) {
  for (const auto& word : words) {
    if (word.empty() || word.front() == '#') {
      return false;
    }
    for (char c : word) {
      bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   std::string_view("_./:=@%+,-{}#").find(c) != std::string_view::npos;
      if (!plain) {
        return false;
      }
    }
  }
  return true;
}

// Whether a word names eval, trap, let or a shell (whose -c script is code read again).
bool rereads(const std::vector<std::string>& words) {
  for (const auto& word : words) {
    auto slash = word.rfind('/');
    std::string_view name =
        slash == std::string::npos ? std::string_view(word) : std::string_view(word).substr(slash + 1);
    for (std::string_view shell : {"eval", "trap", "let", "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash",
                                   "posh", "lksh", "ksh93", "rbash"}) {
      if (name == shell) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string> expand_reusing(const CommandTemplate& command, const JobValues& values) {
  // A previous job's argv, longer and with different content, as the executor reuses it.
  std::vector<std::string> other_inputs = {"previous-input", "x y", ""};
  std::vector<std::string> argv = command.expand(JobValues{&other_inputs, 99, 3});
  argv.resize(argv.size() + 2, "stale");
  command.expand_into(values, argv);
  require(argv == command.expand(values));
  return argv;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto nul = rest.find('\0');
  auto words = split(rest.substr(0, nul), '\n');
  auto inputs = nul == std::string_view::npos ? std::vector<std::string>() : split(rest.substr(nul + 1), '\0');
  JobValues values{&inputs, data[0] % 16u, data[0] / 16u};

  auto plain = CommandTemplate::parse(words, false);
  auto argv = expand_reusing(plain, values);
  require(argv.size() == words.size() + (plain.has_placeholder() ? 0 : inputs.size()));

  auto shell = CommandTemplate::parse(words, true);
  auto script = expand_reusing(shell, values);
  require(script.size() == 4 + inputs.size() && script[0] == "/bin/sh" && script[1] == "-c" && script[3] == "/bin/sh");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    require(script[4 + i] == inputs[i]);
  }
  require(shell.has_placeholder() == plain.has_placeholder() || !plain_words(words));
  if (plain_words(words)) {
    // Nothing in plain words changes how the shell reads a placeholder, short of a command that
    // reads its arguments as code again: the context check agrees.
    if (!rereads(words)) {
      require(netlab::pool::check_shell_template(words).ok());
    }
    auto split_script = netlab::exec::split_words(script[2]);
    require(split_script && *split_script == argv);
  }
  return 0;
}
