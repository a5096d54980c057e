// Unit tests for core/pool/template: placeholder expansion is a pure function of the inputs.
#include <catch2/catch.hpp>

#include "core/pool/template.hpp"

using namespace netlab::pool;

namespace {

std::vector<std::string> expand(std::vector<std::string> words, std::vector<std::string> inputs, bool shell = false,
                                std::uint64_t seq = 7, unsigned slot = 2) {
  return CommandTemplate::parse(words, shell).expand(JobValues{&inputs, seq, slot});
}

using Argv = std::vector<std::string>;

} // namespace

TEST_CASE("pool::CommandTemplate: {} {.} {/} {//} {/.} {#} {%} and {N} expand as in GNU parallel", "[pool]") {
  CHECK(expand({"gzip", "{}"}, {"dir/a.tar.gz"}) == Argv{"gzip", "dir/a.tar.gz"});
  CHECK(expand({"x", "{.}", "{/}", "{//}", "{/.}"}, {"dir/a.tar.gz"}) ==
        Argv{"x", "dir/a.tar", "a.tar.gz", "dir", "a.tar"});
  CHECK(expand({"job-{#}-slot-{%}"}, {"in"}) == Argv{"job-7-slot-2"});
  CHECK(expand({"cp", "{1}", "{2}.bak"}, {"src", "dst"}) == Argv{"cp", "src", "dst.bak"});
  CHECK(expand({"echo", "{}"}, {"a", "1"}) == Argv{"echo", "a 1"});
  CHECK(expand({"echo", "<{}>"}, {""}) == Argv{"echo", "<>"});
}

TEST_CASE("pool::CommandTemplate: no placeholder appends the inputs", "[pool]") {
  CHECK(expand({"echo", "-n"}, {"a b"}) == Argv{"echo", "-n", "a b"});
  CHECK(expand({"echo"}, {"a", "1"}) == Argv{"echo", "a", "1"});
  CHECK_FALSE(CommandTemplate::parse({"echo"}, false).has_placeholder());
  // GNU parallel counts {#} as a replacement string too: nothing is appended.
  CHECK(expand({"echo", "{#}"}, {"a"}) == Argv{"echo", "7"});
}

TEST_CASE("pool::CommandTemplate: braces that are not replacement strings stay", "[pool]") {
  CHECK(expand({"awk", "{print $1}"}, {"f"}) == Argv{"awk", "{print $1}", "f"});
  CHECK(expand({"x{", "{0}", "{1x}", "}"}, {"f"}) == Argv{"x{", "{0}", "{1x}", "}", "f"});
  CHECK(expand({"{3}"}, {"a"}) == Argv{""});
}

TEST_CASE("pool::CommandTemplate: inputs never reach a shell unquoted", "[pool]") {
  CHECK(expand({"echo", "{}"}, {"$(rm -rf /); `x`"}) == Argv{"echo", "$(rm -rf /); `x`"});
  CHECK(expand({"echo {} | wc -c"}, {"it's $HOME"}, true) ==
        Argv{"/bin/sh", "-c", "echo 'it'\\''s $HOME' | wc -c", "/bin/sh", "it's $HOME"});
  CHECK(expand({"echo"}, {"a b", "c"}, true) == Argv{"/bin/sh", "-c", "echo 'a b' c", "/bin/sh", "a b", "c"});
}

TEST_CASE("pool::path transforms match GNU parallel", "[pool]") {
  CHECK(strip_extension("a.b/c") == "a.b/c");
  CHECK(strip_extension("c.txt") == "c");
  CHECK(base_name("/x/y/") == "");
  CHECK(base_name("y") == "y");
  CHECK(dir_name("y") == ".");
  CHECK(dir_name("/y") == "/");
  CHECK(dir_name("a/b/") == "a");
  CHECK(dir_name("a//b") == "a");
}

TEST_CASE("pool::shell_quote leaves plain words alone and quotes the rest; display_command shows a shell command bare",
          "[pool]") {
  CHECK(shell_quote("plain-word_1.txt") == "plain-word_1.txt");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  // zsh expands a bare =ls to /usr/bin/ls; a bare A=1 first in a command is an assignment.
  CHECK(shell_quote("=ls") == "'=ls'");
  CHECK(shell_quote("A=1") == "'A=1'");
  CHECK(display_command({"A=1", "printf", "x"}, false) == "'A=1' printf x");
  CHECK(display_command({"rm", "a b", "c"}, false) == "rm 'a b' c");
  CHECK(display_command({"/bin/sh", "-c", "echo hi | wc"}, true) == "echo hi | wc");
}

TEST_CASE("pool::CommandTemplate: a brace before a replacement string does not hide it", "[pool]") {
  // Found by fuzz_pool_template: "{{}}" kept "{{}" as literal text and appended the input.
  CHECK(expand({"echo", "{{}}"}, {"a"}) == Argv{"echo", "{a}"});
  CHECK(expand({"x{x{1}"}, {"a", "b"}) == Argv{"x{xa"});
  // --shell joins the words, so a lone "{" must not swallow a "{}" in the next word.
  CHECK(expand({"echo", "{.", "{}/}", "{/"}, {"a"}, true) == Argv{"/bin/sh", "-c", "echo {. a/} {/", "/bin/sh", "a"});
  CHECK(CommandTemplate::parse({"{", "{}"}, true).has_placeholder());
}

TEST_CASE("pool::CommandTemplate: a $1 in single quotes is not the script's, so the inputs are appended") {
  // awk's $1 made the inputs go unappended: awk then read /dev/null and printed nothing.
  CHECK(expand({"awk '{print $1}'"}, {"f"}, true) == Argv{"/bin/sh", "-c", "awk '{print $1}' f", "/bin/sh", "f"});
  CHECK(expand({"awk", "'{print $NF, \"$1\"}'"}, {"f"}, true) ==
        Argv{"/bin/sh", "-c", "awk '{print $NF, \"$1\"}' f", "/bin/sh", "f"});
  CHECK(expand({"printf '%s\\n' \"it's $1\""}, {"x"}, true) ==
        Argv{"/bin/sh", "-c", "printf '%s\\n' \"it's $1\"", "/bin/sh", "x"});
  CHECK(expand({"echo \\'$1"}, {"x"}, true) == Argv{"/bin/sh", "-c", "echo \\'$1", "/bin/sh", "x"});
}

TEST_CASE("pool::CommandTemplate: a --shell script that reads $1 gets the inputs only as parameters") {
  CHECK(expand({"echo \"$1\""}, {"a b"}, true) == Argv{"/bin/sh", "-c", "echo \"$1\"", "/bin/sh", "a b"});
  CHECK(expand({"printf %s \"$2\""}, {"a", "b"}, true) ==
        Argv{"/bin/sh", "-c", "printf %s \"$2\"", "/bin/sh", "a", "b"});
}

TEST_CASE("pool::check_shell_template: a placeholder only where the shell unquotes it") {
  using netlab::pool::check_shell_template;
  auto ok = [](const std::string& script) { return check_shell_template({script}).ok(); };
  CHECK(ok("echo {}"));
  CHECK(ok("echo {} | tr a b > {.}.out"));
  CHECK(ok("cp {} \"$HOME\"/x/{/}"));
  CHECK(ok("echo $(basename {})"));
  CHECK(ok("echo \"$(basename {})\""));
  CHECK(ok("sh -c 'echo \"$1\"' sh {}"));
  CHECK(ok("awk '{print $1}' {}"));
  CHECK(ok("cat <<EOF\nplain\nEOF\necho {}"));
  CHECK(ok("for f in {}; do echo \"$f\"; done"));
  CHECK(ok("echo a#{}"));
  CHECK_FALSE(ok("echo '{}'"));
  CHECK_FALSE(ok("echo \"{}\""));
  CHECK_FALSE(ok("echo \"$(echo '{}')\""));
  CHECK_FALSE(ok("echo `echo {}`"));
  CHECK_FALSE(ok("echo ${x:-{}}"));
  CHECK_FALSE(ok("echo $(({}+1))"));
  CHECK_FALSE(ok("echo \\{}"));
  CHECK_FALSE(ok("echo ${}"));
  CHECK_FALSE(ok("echo \"${2}\"")); // {2} is a replacement string: ${2} cannot name $2 here
  CHECK_FALSE(ok("echo # {}"));
  CHECK_FALSE(ok("cat <<EOF\n{}\nEOF"));
  CHECK_FALSE(ok("cat <<-'END'\n\t{#}\n\tEND"));
  CHECK_FALSE(ok("eval echo {}"));
  CHECK_FALSE(ok("X=1 eval \"echo {}\""));
  CHECK_FALSE(ok("sh -c {}"));
  CHECK_FALSE(ok("nohup /bin/bash -xc {} && true"));
  CHECK_FALSE(ok("true; env A=1 dash -c \"echo {}\""));
  // Shells reached past options, wrappers with arguments, quotes and substitutions.
  for (const char* bypass : {"sh -c -- {}",
                             "sh -c - {}",
                             "sh +e -c {}",
                             "sh -o errexit -c {}",
                             "bash -O extglob -c {}",
                             "bash --rcfile /dev/null -c {}",
                             "env -u HOME sh -c {}",
                             "nice -n 5 sh -c {}",
                             "sudo -u nobody sh -c {}",
                             "timeout 5 bash -c {}",
                             "busybox sh -c {}",
                             "'sh' -c {}",
                             "\"/bin/bash\" -ec {}",
                             "s'h' -c {}",
                             "\\sh -c {}",
                             "$SHELL -c {}",
                             "\"$SHELL\" -c {}",
                             "$(command -v sh) -c {}",
                             "sh -c \"$(printf %s {})\"",
                             "sh -c \"`printf %s {}`\"",
                             "sh -c $(echo {})",
                             "eval \"$(printf %s {})\"",
                             "x=$(sh -c {})",
                             "trap {} EXIT",
                             "let x={}",
                             "command trap -- {} EXIT"}) {
    INFO(bypass);
    CHECK_FALSE(ok(bypass));
  }
  for (const char* fine : {"sh -c 'echo \"$1\"' sh {}", "sh -c 'echo \"$1\"' -- {}", "bash -o pipefail -c 'x' sh {}",
                           "sh script.sh {}", "sh -e {}", "grep -c sh {}", "printf %s \"$(basename {})\"",
                           "echo \"$HOME\" {}", "$SHELL script {}", "sh -c 'echo \"$1\"' sh \"$(basename {})\""}) {
    INFO(fine);
    CHECK(ok(fine));
  }
  auto refused = check_shell_template({"echo", "'{1/}'"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("{1/} stands inside single quotes") != std::string::npos);
  CHECK(refused.error().find("\"$1\"") != std::string::npos);
}
