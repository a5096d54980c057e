// spelling::edit_distance and closest: the "did you mean" behind unknown commands and options.
#include <catch2/catch.hpp>

#include "core/util/spelling.hpp"

using namespace netlab;

TEST_CASE("spelling::edit_distance: insertions, deletions and substitutions count one each") {
  CHECK(spelling::edit_distance("", "") == 0);
  CHECK(spelling::edit_distance("abc", "abc") == 0);
  CHECK(spelling::edit_distance("abc", "ab") == 1);
  CHECK(spelling::edit_distance("abc", "abd") == 1);
  CHECK(spelling::edit_distance("kitten", "sitting") == 3);
  CHECK(spelling::edit_distance("", "four") == 4);
}

TEST_CASE("spelling::closest: a typo or a prefix finds its word; a different word finds nothing") {
  std::vector<std::string> commands{"echo-server", "echo-client", "probe", "pack", "unpack"};
  CHECK(spelling::closest("prob", commands) == "probe");
  CHECK(spelling::closest("ech", commands) == "echo-server");
  CHECK(spelling::closest("unpak", commands) == "unpack");
  CHECK(spelling::closest("zzzzzz", commands).empty());
  std::vector<std::string> options{"--idle-timeout", "--max-conns", "--port-file"};
  CHECK(spelling::closest("--idle-timout", options) == "--idle-timeout");
  CHECK(spelling::closest("--port-fle", options) == "--port-file");
  CHECK(spelling::closest("--timeout", options).empty());
}
