// Command templates: GNU parallel's replacement strings ({}, {.}, {/}, {//}, {/.}, {#}, {%},
// {N}...) expanded per job as a pure function, so no shell sees an input unless --shell asks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::pool {

// What one job needs to fill a template: its inputs (one per ::: group), job number and slot.
struct JobValues {
  const std::vector<std::string>* inputs = nullptr;
  std::uint64_t seq = 0;
  unsigned slot = 0;
};

class CommandTemplate {
public:
  // `words` is the COMMAND [ARGS...] of the command line. With `shell` they are joined into one
  // script for `/bin/sh -c`, and every value put into it is shell-quoted.
  static CommandTemplate parse(const std::vector<std::string>& words, bool shell);

  // The argv of one job. Like GNU parallel, a template without any replacement string gets the
  // inputs appended as its last arguments (a --shell script that reads $1.. $@ $* does not).
  // A --shell job is `/bin/sh -c SCRIPT /bin/sh INPUTS...`: the inputs are also the script's
  // positional parameters, the form that is safe in every quoting context.
  std::vector<std::string> expand(const JobValues& values) const;
  // Same, reusing `argv`'s strings: expansion runs once per job and should not allocate anew.
  void expand_into(const JobValues& values, std::vector<std::string>& argv) const;

  bool has_placeholder() const { return m_has_placeholder; }
  bool shell() const { return m_shell; }

  // The length of the replacement string starting at `text[open]` (a '{'), or 0 if none does.
  static std::size_t placeholder_length(std::string_view text, std::size_t open);

private:
  enum class Kind { literal, input, seq, slot };
  enum class Transform { none, no_ext, base, dir, base_no_ext };
  struct Segment {
    Kind kind = Kind::literal;
    Transform transform = Transform::none;
    int group = 0; // 0: all inputs joined by spaces; N: the Nth ::: group
    std::string text;
  };
  using Word = std::vector<Segment>;

  static Word parse_word(std::string_view word, bool& has_placeholder);
  // The end of the replacement string at `word[open]`, filling `segment`; npos if none.
  static std::size_t match_placeholder(std::string_view word, std::size_t open, Segment& segment);
  void append_segment(const Segment& segment, const JobValues& values, std::string& out) const;

  std::vector<Word> m_words;
  bool m_shell = false;
  bool m_has_placeholder = false;
  bool m_appends_inputs = false;
};

// Checks where the replacement strings of a --shell template stand. The quoting netlab adds
// ('...') protects a value only where the shell reads it as quoting: bare in a command's words.
// Refused, with a message naming the place and the safe forms: inside single or double quotes,
// backquotes, ${...} or $((...)); after a backslash or a $; in a comment or a here-document; in
// the arguments of `eval`, `trap` or `let`; as the script of `sh -c` (also bash, dash, zsh, ksh, mksh, ash..., a
// shell named anywhere in the command, so after any wrapper, or named by an expansion in the
// command's place; past its options, -o NAME and --); inside a $(...) that stands in one of the
// last two places. Not seen: commands that hand their arguments to another shell in other ways
// (ssh HOST {}, su -c, xargs, watch, a pipe into sh, find -exec sh -c with its own quoting) and
// values passed on through variables; the safe form for those is the same: pass "$1".
Result<void> check_shell_template(const std::vector<std::string>& words);

// Quotes `value` for a POSIX shell (sh, bash, zsh alike); plain words ([A-Za-z0-9_./:@%+,-]) are
// left as they are.
std::string shell_quote(std::string_view value);
// A job's argv as one copy-pastable command line, every word quoted (what a remote login shell
// is given). A --shell job with no positional parameters shows its script alone.
std::string display_command(const std::vector<std::string>& argv, bool shell);
// What the joblog and --dry-run show: a --shell job's script alone, as GNU parallel's joblog
// does (its positional parameters are the job's inputs, shown in the Input columns).
std::string shown_command(const std::vector<std::string>& argv, bool shell);

// The path transforms, exposed for tests: {.} {/} {//} {/.}
std::string strip_extension(std::string_view path);
std::string base_name(std::string_view path);
std::string dir_name(std::string_view path);

} // namespace netlab::pool
