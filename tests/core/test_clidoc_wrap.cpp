// clidoc::wrap_command_lines: example command lines kept within a width and still runnable when
// pasted into a shell.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "core/clidoc/spec.hpp"

using namespace netlab;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

} // namespace

TEST_CASE("clidoc::wrap_command_lines: a long command continues with a backslash, at spaces outside quotes") {
  CHECK(clidoc::wrap_command_lines("netlab echo-client 8080 --message 'hello world'", 30) ==
        "netlab echo-client 8080 \\\n  --message 'hello world'");
  CHECK(clidoc::wrap_command_lines("short line\nanother", 30) == "short line\nanother");
  // A quoted '#' is text, not a comment.
  CHECK(clidoc::wrap_command_lines("echo '# not a comment' more words", 26) ==
        "echo '# not a comment' \\\n  more words");
}

TEST_CASE("clidoc::wrap_command_lines: a comment is never continued with a backslash") {
  // Inside a comment a trailing backslash is text: the next line would run as a command of its
  // own (the man page showed `01000000020068656c6c6f000000` as one).
  CHECK(clidoc::wrap_command_lines("netlab pack '<IH8s' 1 2 'hello' --hex # 01000000020068656c6c6f000000", 60) ==
        "netlab pack '<IH8s' 1 2 'hello' --hex\n  # 01000000020068656c6c6f000000");
  auto wrapped = clidoc::wrap_command_lines("run this # and a comment that goes on for quite a few words here", 24);
  auto lines = lines_of(wrapped);
  REQUIRE(lines.size() > 2);
  CHECK(lines[0] == "run this");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    CHECK(lines[i].starts_with("  # "));
    CHECK_FALSE(lines[i].ends_with("\\"));
    CHECK(lines[i].size() <= 24);
  }
  // A comment line of its own wraps as comment lines too.
  CHECK(clidoc::wrap_command_lines("# against: netlab exec-server --token-file token --shell (127.0.0.1:8080)", 60) ==
        "# against: netlab exec-server --token-file token --shell\n  # (127.0.0.1:8080)");
}
