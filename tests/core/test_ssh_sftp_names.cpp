// Unit tests for core/ssh/sftp_names: which listing names may become local file names, how a
// hostile name is shown, and the temporary names.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/ssh/sftp.hpp"
#include "core/ssh/sftp_names.hpp"

using namespace netlab::ssh;

TEST_CASE("ssh::check_listing_name: one path component or nothing", "[ssh]") {
  for (std::string good : {"a", "file.txt", "...", "..a", ".hidden", "-rf", "name with spaces", "\xff\xfe", "a\\b"}) {
    CHECK(check_listing_name(good).ok());
  }
  using namespace std::string_literals;
  for (std::string bad : {""s, "."s, ".."s, "../x"s, "/tmp/abs"s, "sub/../../y"s, "a/"s, "/"s, "a\0b"s, "\0"s}) {
    auto checked = check_listing_name(bad);
    CHECK_FALSE(checked.ok());
    if (!checked) {
      CHECK_FALSE(checked.error().empty());
    }
  }
}

TEST_CASE("ssh::quote_name: a hostile name cannot reach the terminal raw", "[ssh]") {
  using namespace std::string_literals;
  CHECK(quote_name("ok.txt") == "\"ok.txt\"");
  CHECK(quote_name("a\0b"s) == "\"a\\x00b\"");
  CHECK(quote_name("\x1b[2J\n") == "\"\\x1b[2J\\x0a\"");
  CHECK(quote_name("q\"\\") == "\"q\\x22\\x5c\"");
}

TEST_CASE("ssh::temporary_name: short, hidden, one component, different each time", "[ssh]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto name = temporary_name();
    CHECK(name.size() == k_temporary_prefix.size() + 12);
    CHECK(name.starts_with(k_temporary_prefix));
    CHECK(check_listing_name(name).ok());
    seen.insert(name);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("ssh::local_mode: set-id and sticky bits only with --preserve", "[ssh]") {
  CHECK(local_mode(0104755, true) == 04755);
  CHECK(local_mode(0041777, true) == 01777);
  CHECK((local_mode(0104755, false) & 07000) == 0);
  CHECK((local_mode(0102777, false) & ~0777) == 0);
  CHECK((local_mode(0100666, false) & ~0666) == 0);
}
