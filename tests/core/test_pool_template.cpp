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

TEST_CASE("pool::CommandTemplate: replacement strings", "[pool]") {
  CHECK(expand({"gzip", "{}"}, {"dir/a.tar.gz"}) == Argv{"gzip", "dir/a.tar.gz"});
  CHECK(expand({"x", "{.}", "{/}", "{//}", "{/.}"}, {"dir/a.tar.gz"}) == Argv{"x", "dir/a.tar", "a.tar.gz", "dir", "a.tar"});
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
  CHECK(expand({"echo {} | wc -c"}, {"it's $HOME"}, true) == Argv{"/bin/sh", "-c", "echo 'it'\\''s $HOME' | wc -c"});
  CHECK(expand({"echo"}, {"a b", "c"}, true) == Argv{"/bin/sh", "-c", "echo 'a b' c"});
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

TEST_CASE("pool::shell_quote and display_command", "[pool]") {
  CHECK(shell_quote("plain-word_1.txt") == "plain-word_1.txt");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(display_command({"rm", "a b", "c"}, false) == "rm 'a b' c");
  CHECK(display_command({"/bin/sh", "-c", "echo hi | wc"}, true) == "echo hi | wc");
}

TEST_CASE("pool::CommandTemplate: a brace before a replacement string does not hide it", "[pool]") {
  // Found by fuzz_pool_template: "{{}}" kept "{{}" as literal text and appended the input.
  CHECK(expand({"echo", "{{}}"}, {"a"}) == Argv{"echo", "{a}"});
  CHECK(expand({"x{x{1}"}, {"a", "b"}) == Argv{"x{xa"});
  // --shell joins the words, so a lone "{" must not swallow a "{}" in the next word.
  CHECK(expand({"echo", "{.", "{}/}", "{/"}, {"a"}, true) == Argv{"/bin/sh", "-c", "echo {. a/} {/"});
  CHECK(CommandTemplate::parse({"{", "{}"}, true).has_placeholder());
}
