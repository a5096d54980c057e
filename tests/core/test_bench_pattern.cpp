// bench's send pattern: what any offset holds is known without a copy of what was sent, and the
// checks that verify an echo find the first wrong byte.
#include <catch2/catch.hpp>

#include <string>

#include "core/bench/pattern.hpp"

using namespace netlab::bench;

TEST_CASE("bench::pattern_slice: repeats every k_pattern_length bytes and stays contiguous across the wrap",
          "[bench]") {
  prepare_pattern();
  CHECK(pattern_slice(5, 100) == pattern_slice(5 + k_pattern_length, 100));
  auto across = pattern_slice(k_pattern_length - 10, 20);
  REQUIRE(across.size() == 20);
  for (std::size_t i = 0; i < across.size(); ++i) {
    CHECK(static_cast<unsigned char>(across[i]) == pattern_byte(k_pattern_length - 10 + i));
  }
  CHECK(pattern_slice(0, k_pattern_length).size() == k_pattern_length);
  // Not a constant fill: a stream shifted by one byte would not verify.
  CHECK(pattern_slice(0, 64) != pattern_slice(1, 64));
}

TEST_CASE("bench::connection_offset: neighbouring connections start at different bytes", "[bench]") {
  CHECK(connection_offset(0) == 0);
  CHECK(connection_offset(1) != connection_offset(2));
  CHECK(pattern_slice(connection_offset(1), 64) != pattern_slice(connection_offset(2), 64));
}

TEST_CASE("bench::first_difference: none for an exact echo, else the first wrong byte", "[bench]") {
  std::string echo(pattern_slice(1000, 300));
  CHECK_FALSE(first_difference(1000, echo).has_value());
  CHECK_FALSE(first_difference(1000, "").has_value());
  echo[99] = static_cast<char>(echo[99] ^ 0x01);
  echo[200] = static_cast<char>(echo[200] ^ 0x01);
  auto at = first_difference(1000, echo);
  REQUIRE(at.has_value());
  CHECK(*at == 99);
  // The right bytes at the wrong offset differ too.
  CHECK(first_difference(1001, pattern_slice(1000, 300)).has_value());
}

TEST_CASE("bench::make_datagram: the sequence number, then pattern bytes, read back the same", "[bench]") {
  std::string a;
  std::string b;
  make_datagram(a, connection_offset(3), 7, 100);
  make_datagram(b, connection_offset(3), 8, 100);
  REQUIRE(a.size() == 100);
  CHECK(datagram_sequence(a) == 7U);
  CHECK(datagram_sequence(b) == 8U);
  CHECK(a.substr(8) != b.substr(8));
  make_datagram(b, connection_offset(3), 7, 100);
  CHECK(a == b);
  make_datagram(a, 0, 1, 8);
  CHECK(a.size() == 8);
  CHECK_FALSE(datagram_sequence("short").has_value());
}
