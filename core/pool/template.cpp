// Template parsing and expansion.
#include "core/pool/template.hpp"

#include <charconv>

namespace netlab::pool {
namespace {

constexpr std::string_view k_shell = "/bin/sh";

void append_joined(const std::vector<std::string>& inputs, std::string& out) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) {
      out.push_back(' ');
    }
    out.append(inputs[i]);
  }
}

} // namespace

std::string strip_extension(std::string_view path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return std::string(path);
  }
  return std::string(path.substr(0, dot));
}

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string dir_name(std::string_view path) {
  // Perl's File::Basename::dirname, which GNU parallel uses: trailing slashes do not count.
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) {
    return ".";
  }
  while (slash > 0 && path[slash - 1] == '/') {
    --slash;
  }
  return slash == 0 ? "/" : std::string(path.substr(0, slash));
}

std::string shell_quote(std::string_view value) {
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./:=@%+,-").find(c) != std::string_view::npos;
  };
  bool needs = value.empty();
  for (char c : value) {
    needs = needs || !plain(c);
  }
  if (!needs) {
    return std::string(value);
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string display_command(const std::vector<std::string>& argv, bool shell) {
  if (shell && argv.size() == 3) {
    return argv[2];
  }
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    out.append(shell_quote(arg));
  }
  return out;
}

CommandTemplate::Word CommandTemplate::parse_word(std::string_view word, bool& has_placeholder) {
  Word segments;
  auto literal = [&](std::string_view text) {
    if (text.empty()) {
      return;
    }
    if (segments.empty() || segments.back().kind != Kind::literal) {
      segments.push_back(Segment{});
    }
    segments.back().text.append(text);
  };
  std::size_t pos = 0;
  while (pos < word.size()) {
    auto open = word.find('{', pos);
    if (open == std::string_view::npos) {
      literal(word.substr(pos));
      break;
    }
    literal(word.substr(pos, open - pos));
    auto close = word.find('}', open + 1);
    if (close == std::string_view::npos) {
      literal(word.substr(open));
      break;
    }
    std::string_view inner = word.substr(open + 1, close - open - 1);
    Segment segment{Kind::input, Transform::none, 0, {}};
    if (inner == "#") {
      segment.kind = Kind::seq;
    } else if (inner == "%") {
      segment.kind = Kind::slot;
    } else {
      // An optional group number, then one of the path transforms.
      auto digits = inner.find_first_not_of("0123456789");
      std::string_view number = inner.substr(0, digits);
      std::string_view rest = digits == std::string_view::npos ? std::string_view() : inner.substr(digits);
      bool ok = true;
      if (!number.empty()) {
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), segment.group);
        ok = ec == std::errc() && segment.group > 0;
      }
      if (rest == ".") {
        segment.transform = Transform::no_ext;
      } else if (rest == "/") {
        segment.transform = Transform::base;
      } else if (rest == "//") {
        segment.transform = Transform::dir;
      } else if (rest == "/.") {
        segment.transform = Transform::base_no_ext;
      } else if (!rest.empty()) {
        ok = false;
      }
      if (!ok) {
        // Not a replacement string ({foo}, a brace group in awk code): keep the brace as written
        // and look again just after it, since "{{}}" or "{x{}" still hold a "{}", as in GNU parallel.
        literal(word.substr(open, 1));
        pos = open + 1;
        continue;
      }
    }
    has_placeholder = true;
    segments.push_back(std::move(segment));
    pos = close + 1;
  }
  return segments;
}

CommandTemplate CommandTemplate::parse(const std::vector<std::string>& words, bool shell) {
  CommandTemplate result;
  result.m_shell = shell;
  if (shell) {
    std::string script;
    append_joined(words, script);
    result.m_words.push_back(parse_word(script, result.m_has_placeholder));
  } else {
    for (const auto& word : words) {
      result.m_words.push_back(parse_word(word, result.m_has_placeholder));
    }
  }
  return result;
}

void CommandTemplate::append_segment(const Segment& segment, const JobValues& values, std::string& out) const {
  switch (segment.kind) {
  case Kind::literal:
    out.append(segment.text);
    return;
  case Kind::seq:
    out.append(std::to_string(values.seq));
    return;
  case Kind::slot:
    out.append(std::to_string(values.slot));
    return;
  case Kind::input:
    break;
  }
  const auto& inputs = *values.inputs;
  std::string value;
  if (segment.group == 0) {
    append_joined(inputs, value);
  } else if (static_cast<std::size_t>(segment.group) <= inputs.size()) {
    value = inputs[static_cast<std::size_t>(segment.group) - 1];
  }
  switch (segment.transform) {
  case Transform::none:
    break;
  case Transform::no_ext:
    value = strip_extension(value);
    break;
  case Transform::base:
    value = base_name(value);
    break;
  case Transform::dir:
    value = dir_name(value);
    break;
  case Transform::base_no_ext:
    value = strip_extension(base_name(value));
    break;
  }
  out.append(m_shell ? shell_quote(value) : value);
}

void CommandTemplate::expand_into(const JobValues& values, std::vector<std::string>& argv) const {
  static const std::vector<std::string> k_no_inputs;
  JobValues filled = values;
  if (filled.inputs == nullptr) {
    filled.inputs = &k_no_inputs;
  }
  const auto& inputs = *filled.inputs;
  std::size_t count = m_shell ? 3 : m_words.size() + (m_has_placeholder ? 0 : inputs.size());
  argv.resize(count);
  std::size_t index = 0;
  if (m_shell) {
    argv[0].assign(k_shell);
    argv[1].assign("-c");
    index = 2;
  }
  for (const auto& word : m_words) {
    auto& out = argv[index++];
    out.clear();
    for (const auto& segment : word) {
      append_segment(segment, filled, out);
    }
  }
  if (!m_has_placeholder) {
    for (const auto& input : inputs) {
      if (m_shell) {
        argv[2].push_back(' ');
        argv[2].append(shell_quote(input));
      } else {
        argv[index++].assign(input);
      }
    }
  }
}

std::vector<std::string> CommandTemplate::expand(const JobValues& values) const {
  std::vector<std::string> argv;
  expand_into(values, argv);
  return argv;
}

} // namespace netlab::pool
