// Command templates: GNU parallel's replacement strings ({}, {.}, {/}, {//}, {/.}, {#}, {%},
// {N}...) expanded per job as a pure function, so no shell sees an input unless --shell asks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>


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
  // inputs appended as its last arguments.
  std::vector<std::string> expand(const JobValues& values) const;
  // Same, reusing `argv`'s strings: expansion runs once per job and should not allocate anew.
  void expand_into(const JobValues& values, std::vector<std::string>& argv) const;

  bool has_placeholder() const { return m_has_placeholder; }
  bool shell() const { return m_shell; }

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
  void append_segment(const Segment& segment, const JobValues& values, std::string& out) const;

  std::vector<Word> m_words;
  bool m_shell = false;
  bool m_has_placeholder = false;
};

// Quotes `value` for a POSIX shell; plain words ([A-Za-z0-9_./:=@%+,-]) are left as they are.
std::string shell_quote(std::string_view value);
// A job's argv as a copy-pastable command line (joblog, --dry-run). A --shell job shows its
// script alone, as GNU parallel's joblog does.
std::string display_command(const std::vector<std::string>& argv, bool shell);

// The path transforms, exposed for tests: {.} {/} {//} {/.}
std::string strip_extension(std::string_view path);
std::string base_name(std::string_view path);
std::string dir_name(std::string_view path);

} // namespace netlab::pool
