// Unit tests for core/framefile/names: stored names and the unpacker's path-escape checks.
#include <catch2/catch.hpp>

#include "core/framefile/names.hpp"

using netlab::framefile::check_name;
using netlab::framefile::stored_name;

TEST_CASE("framefile::stored_name: a stored name is normalised and relative", "[framefile]") {
  CHECK(*stored_name("a/b.txt") == "a/b.txt");
  CHECK(*stored_name("./a//b.txt") == "a/b.txt");
  CHECK(*stored_name("/etc/hosts") == "etc/hosts");
  CHECK(*stored_name("dir/") == "dir");
  CHECK(*stored_name("a/../b") == "b");
  CHECK(*stored_name(".") == ".");
  CHECK_FALSE(stored_name("../x").ok());
  CHECK_FALSE(stored_name("a/../../x").ok());
  CHECK_FALSE(stored_name("").ok());
}

TEST_CASE("framefile::check_name: only names inside the target folder", "[framefile]") {
  for (const char* good : {"a", "a/b", "a.b/c..d", "..a", "a..", "x/...", " space"}) {
    INFO(good);
    CHECK(check_name(good).ok());
  }
  for (const char* bad : {"", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "a//b", "./a", "a/./b", "a/", "/"}) {
    INFO(bad);
    CHECK_FALSE(check_name(bad).ok());
  }
  CHECK_FALSE(check_name(std::string_view("a\0b", 3)).ok());
  CHECK_FALSE(check_name(std::string(5000, 'a')).ok());
}
