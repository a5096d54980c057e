// libFuzzer target: ssh-exec's ssh_config reader. Input: the host to resolve on the first line,
// the config after it. Checked: match_pattern agrees with a plain recursive glob for every word
// of the config, a resolved port is valid, and a leading "Host *" changes nothing (options before
// the first Host line apply to every host, and "*" matches every host).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ssh/host.hpp"

namespace {

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// ssh_config globs by definition: '*' any run, '?' any one character, the rest case-insensitive.
bool reference_match(std::string_view pattern, std::string_view text) {
  const std::size_t columns = text.size() + 1;
  // matches[i * columns + j]: pattern[i..] matches text[j..].
  std::vector<char> matches((pattern.size() + 1) * columns, 0);
  matches[pattern.size() * columns + text.size()] = 1;
  for (std::size_t i = pattern.size(); i-- > 0;) {
    for (std::size_t j = text.size() + 1; j-- > 0;) {
      bool ok = false;
      if (pattern[i] == '*') {
        ok = matches[(i + 1) * columns + j] || (j < text.size() && matches[i * columns + j + 1]);
      } else if (j < text.size() && (pattern[i] == '?' || std::tolower(static_cast<unsigned char>(pattern[i])) ==
                                                              std::tolower(static_cast<unsigned char>(text[j])))) {
        ok = matches[(i + 1) * columns + j + 1];
      }
      matches[i * columns + j] = ok ? 1 : 0;
    }
  }
  return matches[0] != 0;
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto start = text.find_first_not_of(" \t\r\n=", i);
    if (start == std::string_view::npos) {
      break;
    }
    auto end = text.find_first_of(" \t\r\n=", start);
    out.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    i = end == std::string_view::npos ? text.size() : end;
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view host = input.substr(0, newline);
  std::string_view config = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  if (host.size() > 256) {
    return 0;
  }

  for (auto word : words(config)) {
    if (word.size() <= 256) {
      require(netlab::ssh::match_pattern(word, host) == reference_match(word, host));
    }
  }

  auto resolved = netlab::ssh::resolve_config(config, host, "/home/user");
  auto prefixed = netlab::ssh::resolve_config("Host *\n" + std::string(config), host, "/home/user");
  require(resolved.ok() == prefixed.ok());
  if (!resolved) {
    require(resolved.error().starts_with("line "));
    return 0;
  }
  require(resolved->port >= 0 && resolved->port <= 65535);
  require(resolved->hostname == prefixed->hostname && resolved->user == prefixed->user &&
          resolved->port == prefixed->port && resolved->identity_files == prefixed->identity_files);
  return 0;
}
