// Template parsing and expansion.
#include "core/pool/template.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

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
  // No '=': a bare NAME=value in the command's place is an assignment, and zsh (a login shell
  // --ssh may meet) expands a bare word starting with '=' to a program's path (=ls).
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./:@%+,-").find(c) != std::string_view::npos;
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

std::string shown_command(const std::vector<std::string>& argv, bool shell) {
  if (shell && argv.size() >= 3) {
    return argv[2];
  }
  return display_command(argv, false);
}

std::string display_command(const std::vector<std::string>& argv, bool shell) {
  if (shell && (argv.size() == 3 || (argv.size() == 4 && argv[3] == k_shell))) {
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

std::size_t CommandTemplate::match_placeholder(std::string_view word, std::size_t open, Segment& segment) {
  auto close = word.find('}', open + 1);
  if (close == std::string_view::npos) {
    return std::string_view::npos;
  }
  std::string_view inner = word.substr(open + 1, close - open - 1);
  segment = Segment{Kind::input, Transform::none, 0, {}};
  if (inner == "#") {
    segment.kind = Kind::seq;
    return close + 1;
  }
  if (inner == "%") {
    segment.kind = Kind::slot;
    return close + 1;
  }
  // An optional group number, then one of the path transforms.
  auto digits = inner.find_first_not_of("0123456789");
  std::string_view number = inner.substr(0, digits);
  std::string_view rest = digits == std::string_view::npos ? std::string_view() : inner.substr(digits);
  if (!number.empty()) {
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), segment.group);
    if (ec != std::errc() || segment.group <= 0) {
      return std::string_view::npos;
    }
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
    return std::string_view::npos;
  }
  return close + 1;
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
    Segment segment;
    auto end = match_placeholder(word, open, segment);
    if (end == std::string_view::npos) {
      // Not a replacement string ({foo}, a brace group in awk code): keep the brace as written
      // and look again just after it, since "{{}}" or "{x{}" still hold a "{}", as in GNU parallel.
      literal(word.substr(open, 1));
      pos = open + 1;
      continue;
    }
    has_placeholder = true;
    segments.push_back(std::move(segment));
    pos = end;
  }
  return segments;
}

// Whether a script reads its positional parameters ($1, ${2}, "$@", $*): then, as with a
// replacement string, the inputs are not also appended to it. Text in single quotes is not
// read by this shell: the $1 of awk '{print $1}' is awk's, and that script still gets them.
static bool uses_positional(std::string_view script) {
  bool in_double = false;
  for (std::size_t at = 0; at < script.size(); ++at) {
    char c = script[at];
    if (c == '\\') {
      ++at;
    } else if (c == '\'' && !in_double) {
      at = std::min(script.find('\'', at + 1), script.size());
    } else if (c == '"') {
      in_double = !in_double;
    } else if (c == '$') {
      std::size_t next = at + 1;
      if (next < script.size() && script[next] == '{') {
        ++next;
      }
      if (next < script.size() &&
          ((script[next] >= '1' && script[next] <= '9') || script[next] == '@' || script[next] == '*')) {
        return true;
      }
    }
  }
  return false;
}

CommandTemplate CommandTemplate::parse(const std::vector<std::string>& words, bool shell) {
  CommandTemplate result;
  result.m_shell = shell;
  if (shell) {
    std::string script;
    append_joined(words, script);
    result.m_words.push_back(parse_word(script, result.m_has_placeholder));
    result.m_appends_inputs = !result.m_has_placeholder && !uses_positional(script);
  } else {
    for (const auto& word : words) {
      result.m_words.push_back(parse_word(word, result.m_has_placeholder));
    }
    result.m_appends_inputs = !result.m_has_placeholder;
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
  // With --shell: /bin/sh -c SCRIPT /bin/sh INPUTS..., so the script may also say "$1" ($0 stays
  // "/bin/sh", as in the shell's own messages without positional parameters).
  std::size_t count = m_shell ? 4 + inputs.size() : m_words.size() + (m_appends_inputs ? inputs.size() : 0);
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
  if (m_appends_inputs) {
    for (const auto& input : inputs) {
      if (m_shell) {
        argv[2].push_back(' ');
        argv[2].append(shell_quote(input));
      } else {
        argv[index++].assign(input);
      }
    }
  }
  if (m_shell) {
    argv[3].assign(k_shell);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      argv[4 + i].assign(inputs[i]);
    }
  }
}

std::size_t CommandTemplate::placeholder_length(std::string_view text, std::size_t open) {
  Segment segment;
  auto end = match_placeholder(text, open, segment);
  return end == std::string_view::npos ? 0 : end - open;
}

namespace {

// A small reader of POSIX shell syntax, only as deep as check_shell_template needs: quoting
// contexts, substitutions, comments, here-documents, and the words of each simple command.
class ShellContextCheck {
public:
  explicit ShellContextCheck(std::string_view script) : m_s(script) {}

  Result<void> run() {
    m_stack.push_back(Frame{Ctx::top});
    while (m_i < m_s.size()) {
      NETLAB_TRY_VOID(step());
    }
    return {};
  }

private:
  enum class Ctx { top, cmdsub, dquote, squote, backquote, brace, arith };
  struct Frame {
    Ctx ctx;
    int depth = 0; // parentheses opened inside $( ) or $(( ))
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
  };
  struct Heredoc {
    std::string delimiter;
    bool strip_tabs = false;
  };

  static bool unquoted(Ctx ctx) { return ctx == Ctx::top || ctx == Ctx::cmdsub; }

  std::size_t placeholder_at(std::size_t i) const {
    return i < m_s.size() && m_s[i] == '{' ? CommandTemplate::placeholder_length(m_s, i) : 0;
  }

  Result<void> refuse(std::size_t at, std::string_view where) const {
    auto length = CommandTemplate::placeholder_length(m_s, at);
    // One short line; docs/pool-run.md explains the rule at length.
    return fail(fmt::format("--shell: {} stands {}, where netlab's quoting cannot protect it; write it bare "
                            "('echo {}') or use \"$1\" ('echo \"$1\"')",
                            m_s.substr(at, length), where, m_s.substr(at, length)));
  }

  // Adds a quoted character to the word of the frame the quotes sit in, so a command word
  // written 'sh' or "bash" is still known by its name.
  void append_outer(char c) {
    if (m_stack.size() >= 2 && unquoted(m_stack[m_stack.size() - 2].ctx)) {
      m_stack[m_stack.size() - 2].word.push_back(c);
    }
  }

  void end_word(Frame& frame) {
    if (frame.in_word) {
      frame.words.push_back(std::move(frame.word));
      frame.word.clear();
      frame.in_word = false;
    }
  }

  void end_command(Frame& frame) {
    end_word(frame);
    frame.words.clear();
  }

  static std::string_view base(std::string_view word) {
    auto slash = word.rfind('/');
    return slash == std::string_view::npos ? word : word.substr(slash + 1);
  }

  static bool is_assignment(std::string_view word) {
    auto eq = word.find('=');
    return eq != std::string_view::npos && eq > 0 &&
           word.substr(0, eq).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
               std::string_view::npos;
  }

  // Whether `word` may be a shell's name: a known shell, or an expansion ($SHELL, $(which sh))
  // whose program cannot be known here.
  static bool may_be_shell(std::string_view word, bool command_position) {
    static const std::vector<std::string_view> k_shells = {"sh",  "bash", "dash", "zsh",  "ksh",   "mksh",
                                                           "ash", "yash", "posh", "lksh", "ksh93", "rbash"};
    if (std::find(k_shells.begin(), k_shells.end(), base(word)) != k_shells.end()) {
      return true;
    }
    return command_position && word.find_first_of("$`") != std::string_view::npos;
  }

  // Whether the word numbered `index` is the script a shell named by words[shell] reads: the
  // first operand after its options when one of them holds `c`. Options are read as sh, bash
  // and zsh read them: clustered after '-' or '+', `o`/`O` taking the next word (-o errexit),
  // `--rcfile`/`--init-file` too, and `--` or a lone `-` ending them.
  static bool is_script_operand(const std::vector<std::string>& words, std::size_t shell, std::size_t index) {
    bool dash_c = false;
    std::size_t j = shell + 1;
    while (j < index) {
      std::string_view word = words[j];
      if (word == "--" || word == "-") {
        ++j;
        break;
      }
      if (word.size() < 2 || (word[0] != '-' && word[0] != '+')) {
        break;
      }
      if (word[1] == '-') {
        j += (word == "--rcfile" || word == "--init-file") ? 2 : 1;
        continue;
      }
      for (char c : word.substr(1)) {
        dash_c = dash_c || c == 'c';
        j += (c == 'o' || c == 'O') ? 1 : 0;
      }
      ++j;
    }
    return dash_c && j == index;
  }

  // A placeholder bare in the word numbered `index` of `words` (the command so far): refused if
  // that command re-reads its arguments as shell code: eval, trap, let, or a shell whose -c
  // script it is.
  // A shell is looked for among all the words, not only the command's name, so wrappers with
  // arguments of their own (env -u NAME, nice -n 5, sudo -u USER, timeout 5, busybox) do not
  // hide it; "sh" as a mere argument before "-c {}" is refused too, which errs on the safe side.
  std::optional<std::string_view> reread(const std::vector<std::string>& words, std::size_t index) const {
    static const std::vector<std::string_view> k_wrappers = {"env",  "exec", "command", "nohup",
                                                             "nice", "sudo", "time",    "builtin"};
    std::size_t k = 0;
    while (k < index && (is_assignment(words[k]) || (!words[k].empty() && words[k][0] == '-') ||
                         std::find(k_wrappers.begin(), k_wrappers.end(), base(words[k])) != k_wrappers.end())) {
      ++k;
    }
    // eval reads its arguments as code again, trap its action, and bash's let its arithmetic,
    // whose a[$(...)] runs a command.
    if (k < index && (base(words[k]) == "eval" || base(words[k]) == "trap" || base(words[k]) == "let")) {
      return "in the arguments of eval, trap or let, which read them as shell code again";
    }
    for (std::size_t shell = 0; shell < index; ++shell) {
      if (may_be_shell(words[shell], shell == k) && is_script_operand(words, shell, index)) {
        return "in the script of sh -c, which the inner shell reads as code again "
               "(pass the value after the script: sh -c 'echo \"$1\"' sh {})";
      }
    }
    return std::nullopt;
  }

  Result<void> check_placeholder(std::size_t at) {
    Frame& frame = m_stack.back();
    switch (frame.ctx) {
    case Ctx::squote:
      return refuse(at, "inside single quotes");
    case Ctx::dquote:
      return refuse(at, "inside double quotes");
    case Ctx::backquote:
      return refuse(at, "inside backquotes");
    case Ctx::brace:
      return refuse(at, "inside ${...}");
    case Ctx::arith:
      return refuse(at, "inside $((...))");
    case Ctx::top:
    case Ctx::cmdsub:
      break;
    }
    // The word being built in each enclosing unquoted frame holds this placeholder too (as the
    // output of a $(...) it sits in): sh -c "$(printf %s {})" makes the value the script.
    for (std::size_t i = m_stack.size(); i-- > 0;) {
      const Frame& outer = m_stack[i];
      if (!unquoted(outer.ctx)) {
        continue;
      }
      if (auto why = reread(outer.words, outer.words.size())) {
        return refuse(at, *why);
      }
    }
    return {};
  }

  // Refuses a placeholder anywhere in m_s[from, to).
  Result<void> refuse_any(std::size_t from, std::size_t to, std::string_view where) const {
    for (std::size_t i = from; i < to; ++i) {
      if (placeholder_at(i) != 0) {
        return refuse(i, where);
      }
    }
    return {};
  }

  // After the newline that ends a line with `<<` operators: skips their bodies.
  Result<void> read_heredocs() {
    for (const auto& doc : m_heredocs) {
      while (m_i < m_s.size()) {
        auto end = m_s.find('\n', m_i);
        auto line_end = end == std::string_view::npos ? m_s.size() : end;
        auto line = m_s.substr(m_i, line_end - m_i);
        if (doc.strip_tabs) {
          while (!line.empty() && line.front() == '\t') {
            line.remove_prefix(1);
          }
        }
        if (line == doc.delimiter) {
          m_i = end == std::string_view::npos ? m_s.size() : end + 1;
          break;
        }
        NETLAB_TRY_VOID(refuse_any(m_i, line_end, "in a here-document, whose text the shell does not unquote"));
        m_i = end == std::string_view::npos ? m_s.size() : end + 1;
      }
    }
    m_heredocs.clear();
    return {};
  }

  void read_heredoc_operator() {
    Heredoc doc;
    if (m_i < m_s.size() && m_s[m_i] == '-') {
      doc.strip_tabs = true;
      ++m_i;
    }
    while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t')) {
      ++m_i;
    }
    while (m_i < m_s.size() && std::string_view(" \t\n;&|<>()").find(m_s[m_i]) == std::string_view::npos) {
      char c = m_s[m_i];
      if (c == '\'' || c == '"') {
        auto close = m_s.find(c, m_i + 1);
        auto stop = close == std::string_view::npos ? m_s.size() : close;
        doc.delimiter.append(m_s.substr(m_i + 1, stop - m_i - 1));
        m_i = close == std::string_view::npos ? m_s.size() : close + 1;
      } else if (c == '\\' && m_i + 1 < m_s.size()) {
        doc.delimiter.push_back(m_s[m_i + 1]);
        m_i += 2;
      } else {
        doc.delimiter.push_back(c);
        ++m_i;
      }
    }
    m_heredocs.push_back(std::move(doc));
  }

  // Opens $( ), $(( )) or ${ } at m_s[m_i] == '$'; false if none starts there.
  Result<bool> dollar() {
    if (m_i + 1 >= m_s.size()) {
      return false;
    }
    char next = m_s[m_i + 1];
    if (next == '{' && placeholder_at(m_i + 1) != 0) {
      return refuse(m_i + 1, "right after a $").failure();
    }
    if (next == '(' && m_i + 2 < m_s.size() && m_s[m_i + 2] == '(') {
      m_stack.push_back(Frame{Ctx::arith});
      m_i += 3;
      return true;
    }
    if (next == '(') {
      m_stack.push_back(Frame{Ctx::cmdsub});
      m_i += 2;
      return true;
    }
    if (next == '{') {
      m_stack.push_back(Frame{Ctx::brace});
      m_i += 2;
      return true;
    }
    return false;
  }

  Result<void> step() {
    if (auto length = placeholder_at(m_i); length != 0) {
      NETLAB_TRY_VOID(check_placeholder(m_i));
      Frame& frame = m_stack.back();
      if (unquoted(frame.ctx)) {
        frame.in_word = true;
        frame.word.append(m_s.substr(m_i, length));
      }
      m_i += length;
      return {};
    }
    char c = m_s[m_i];
    Frame& frame = m_stack.back();
    switch (frame.ctx) {
    case Ctx::squote:
      if (c == '\'') {
        m_stack.pop_back();
      } else {
        append_outer(c);
      }
      ++m_i;
      return {};
    case Ctx::dquote:
    case Ctx::backquote:
    case Ctx::brace:
      if (c == '\\') {
        if (placeholder_at(m_i + 1) != 0) {
          return refuse(m_i + 1, "after a backslash");
        }
        if (frame.ctx == Ctx::dquote && m_i + 1 < m_s.size()) {
          append_outer(m_s[m_i + 1]);
        }
        m_i += 2;
        return {};
      }
      if ((frame.ctx == Ctx::dquote && c == '"') || (frame.ctx == Ctx::backquote && c == '`') ||
          (frame.ctx == Ctx::brace && c == '}')) {
        m_stack.pop_back();
        ++m_i;
        return {};
      }
      if (frame.ctx == Ctx::dquote) {
        // '$' and '`' stay in the word as marks of an expansion.
        append_outer(c);
      }
      if (c == '$') {
        NETLAB_TRY(bool opened, dollar());
        if (opened) {
          return {};
        }
      }
      if (c == '`' && frame.ctx != Ctx::backquote) {
        m_stack.push_back(Frame{Ctx::backquote});
      } else if (frame.ctx == Ctx::brace && (c == '\'' || c == '"')) {
        m_stack.push_back(Frame{c == '"' ? Ctx::dquote : Ctx::squote});
      }
      ++m_i;
      return {};
    case Ctx::arith:
      if (c == '(') {
        ++frame.depth;
      } else if (c == ')') {
        if (frame.depth == 0 && m_i + 1 < m_s.size() && m_s[m_i + 1] == ')') {
          m_stack.pop_back();
          m_i += 2;
          return {};
        }
        --frame.depth;
      }
      ++m_i;
      return {};
    case Ctx::top:
    case Ctx::cmdsub:
      return step_unquoted(frame, c);
    }
    return {};
  }

  Result<void> step_unquoted(Frame& frame, char c) {
    switch (c) {
    case '\\':
      if (placeholder_at(m_i + 1) != 0) {
        return refuse(m_i + 1, "after a backslash");
      }
      if (m_i + 1 < m_s.size() && m_s[m_i + 1] != '\n') {
        frame.in_word = true;
        frame.word.push_back(m_s[m_i + 1]);
      }
      m_i += 2;
      return {};
    case '\'':
    case '"':
    case '`':
      frame.in_word = true;
      if (c == '`') {
        frame.word.push_back(c);
      }
      m_stack.push_back(Frame{c == '\'' ? Ctx::squote : c == '"' ? Ctx::dquote : Ctx::backquote});
      ++m_i;
      return {};
    case '$': {
      frame.in_word = true;
      frame.word.push_back(c);
      NETLAB_TRY(bool opened, dollar());
      if (!opened) {
        ++m_i;
      }
      return {};
    }
    case '#':
      if (!frame.in_word) {
        auto end = m_s.find('\n', m_i);
        auto stop = end == std::string_view::npos ? m_s.size() : end;
        NETLAB_TRY_VOID(refuse_any(m_i, stop, "in a comment, which a newline in the value would end"));
        m_i = stop;
        return {};
      }
      break;
    case '<':
      if (m_i + 1 < m_s.size() && m_s[m_i + 1] == '<' && !(m_i + 2 < m_s.size() && m_s[m_i + 2] == '<')) {
        end_word(frame);
        m_i += 2;
        read_heredoc_operator();
        return {};
      }
      end_word(frame);
      ++m_i;
      return {};
    case '\n':
      end_command(frame);
      ++m_i;
      return read_heredocs();
    case ' ':
    case '\t':
    case '>':
      end_word(frame);
      ++m_i;
      return {};
    case ';':
    case '&':
    case '|':
      end_command(frame);
      ++m_i;
      return {};
    case '(':
      end_command(frame);
      ++frame.depth;
      ++m_i;
      return {};
    case ')':
      end_command(frame);
      if (frame.ctx == Ctx::cmdsub && frame.depth == 0) {
        m_stack.pop_back();
      } else {
        --frame.depth;
      }
      ++m_i;
      return {};
    default:
      break;
    }
    frame.in_word = true;
    frame.word.push_back(c);
    ++m_i;
    return {};
  }

  std::string_view m_s;
  std::size_t m_i = 0;
  std::vector<Frame> m_stack;
  std::vector<Heredoc> m_heredocs;
};

} // namespace

Result<void> check_shell_template(const std::vector<std::string>& words) {
  std::string script;
  append_joined(words, script);
  return ShellContextCheck(script).run();
}

std::vector<std::string> CommandTemplate::expand(const JobValues& values) const {
  std::vector<std::string> argv;
  expand_into(values, argv);
  return argv;
}

} // namespace netlab::pool
