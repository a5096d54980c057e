// Host arguments, hosts files and the ssh_config subset: parsing only.
#include "core/ssh/host.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace netlab::ssh {
namespace {

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

Result<int> parse_port(std::string_view text, std::string_view whole) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return fail(fmt::format("host '{}': port must be 1-65535", whole));
  }
  return port;
}

bool valid_host_chars(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%';
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Splits a config line into keyword and the rest, accepting `Key value`, `Key=value` and
// `Key = value` as ssh_config(5) does.
std::pair<std::string, std::string_view> split_keyword(std::string_view line) {
  std::size_t end = line.find_first_of(" \t=");
  std::string keyword = lower(line.substr(0, end));
  std::string_view rest = end == std::string_view::npos ? std::string_view() : line.substr(end);
  rest = trim(rest);
  if (!rest.empty() && rest.front() == '=') {
    rest = trim(rest.substr(1));
  }
  return {keyword, rest};
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    if (i >= text.size()) {
      break;
    }
    std::string word;
    if (text[i] == '"') {
      auto close = text.find('"', i + 1);
      word = std::string(text.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1));
      i = close == std::string_view::npos ? text.size() : close + 1;
    } else {
      auto end = text.find_first_of(" \t", i);
      word = std::string(text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? text.size() : end;
    }
    words.push_back(std::move(word));
  }
  return words;
}

// A `Host` line matches when some positive pattern matches and no negated one does.
bool host_line_matches(const std::vector<std::string>& patterns, std::string_view host) {
  bool matched = false;
  for (const auto& pattern : patterns) {
    if (!pattern.empty() && pattern.front() == '!') {
      if (match_pattern(std::string_view(pattern).substr(1), host)) {
        return false;
      }
    } else if (match_pattern(pattern, host)) {
      matched = true;
    }
  }
  return matched;
}

std::string expand_identity(std::string_view path, std::string_view host, std::string_view home) {
  std::string out;
  if (path.starts_with("~/") && !home.empty()) {
    out = std::string(home);
    path.remove_prefix(1);
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 1 < path.size()) {
      char token = path[++i];
      if (token == 'h') {
        out += host;
      } else if (token == 'd') {
        out += home;
      } else {
        out += token; // `%%` and tokens we do not know stay literal, minus the `%`
      }
    } else {
      out += path[i];
    }
  }
  return out;
}

} // namespace

Result<HostSpec> parse_host(std::string_view text) {
  HostSpec spec;
  spec.label = std::string(trim(text));
  std::string_view rest = spec.label;
  if (rest.empty()) {
    return fail("empty host");
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    spec.user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
    if (spec.user.empty()) {
      return fail(fmt::format("host '{}': empty user before '@'", spec.label));
    }
  }
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return fail(fmt::format("host '{}': missing ']'", spec.label));
    }
    spec.host = std::string(rest.substr(1, close - 1));
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return fail(fmt::format("host '{}': expected ':PORT' after ']'", spec.label));
      }
      NETLAB_TRY(spec.port, parse_port(after.substr(1), spec.label));
    }
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    auto colon = rest.find(':');
    spec.host = std::string(rest.substr(0, colon));
    NETLAB_TRY(spec.port, parse_port(rest.substr(colon + 1), spec.label));
  } else {
    spec.host = std::string(rest);
  }
  if (spec.host.empty()) {
    return fail(fmt::format("host '{}': empty host name", spec.label));
  }
  if (!valid_host_chars(spec.host)) {
    return fail(fmt::format("host '{}': invalid character in host name", spec.label));
  }
  return spec;
}

Result<std::vector<HostSpec>> parse_hosts_file(std::string_view text) {
  std::vector<HostSpec> hosts;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) {
      continue;
    }
    auto host = parse_host(line);
    if (!host) {
      return fail(fmt::format("line {}: {}", line_number, host.error()));
    }
    hosts.push_back(std::move(*host));
  }
  return hosts;
}

bool match_pattern(std::string_view pattern, std::string_view text) {
  // Iterative glob with single-star backtracking: linear enough for host names, no recursion.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    // '*' first: tried as a literal, it would match only a '*' in the text and give up the star.
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || std::tolower(static_cast<unsigned char>(pattern[p])) ==
                                                               std::tolower(static_cast<unsigned char>(text[t])))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

Result<HostConfig> resolve_config(std::string_view text, std::string_view host, std::string_view home) {
  HostConfig config;
  bool active = true; // options before the first Host line apply to every host
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    auto line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto [keyword, value] = split_keyword(line);
    auto words = split_words(value);
    if (keyword == "host") {
      active = host_line_matches(words, host);
      continue;
    }
    if (keyword == "match") {
      active = false;
      continue;
    }
    if (!active || words.empty()) {
      continue;
    }
    if (keyword == "hostname" && config.hostname.empty()) {
      config.hostname = expand_identity(words[0], host, home);
    } else if (keyword == "user" && config.user.empty()) {
      config.user = words[0];
    } else if (keyword == "port" && config.port == 0) {
      auto port = parse_port(words[0], words[0]);
      if (!port) {
        return fail(fmt::format("line {}: Port {}: must be 1-65535", line_number, words[0]));
      }
      config.port = *port;
    } else if (keyword == "identityfile") {
      config.identity_files.push_back(expand_identity(words[0], host, home));
    }
  }
  return config;
}

} // namespace netlab::ssh
