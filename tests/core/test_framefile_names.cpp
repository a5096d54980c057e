// Unit tests for core/framefile/names: stored names and the unpacker's path-escape checks.
#include <catch2/catch.hpp>

#include "core/framefile/names.hpp"

using netlab::framefile::check_name;
using netlab::framefile::check_storable;
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

TEST_CASE("framefile::check_storable: only names a JSON header carries unchanged", "[framefile]") {
  CHECK(check_storable("caf\xc3\xa9/\xe2\x82\xac").ok());
  CHECK(check_storable("tab\there").ok());
  for (std::string_view bad : {"caf\xe9", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "a/\xff/b"}) {
    INFO(bad);
    auto refused = check_storable(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().find("not valid UTF-8") != std::string::npos);
    CHECK_FALSE(stored_name(bad).ok());
  }
  CHECK(check_storable("caf\xe9").error().starts_with("'caf\\xe9': "));
}
