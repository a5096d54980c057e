// units::parse_duration / parse_size / parse_count and their formatters: the spellings every
// option accepts, the ones it refuses, and round trips.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/util/units.hpp"

using namespace netlab;

TEST_CASE("units::parse_duration: seconds by default, and ms, us, s, m, h, d") {
  CHECK(*units::parse_duration("1.5") == Approx(1.5));
  CHECK(*units::parse_duration("0") == 0);
  CHECK(*units::parse_duration("250ms") == Approx(0.25));
  CHECK(*units::parse_duration("100us") == Approx(0.0001));
  CHECK(*units::parse_duration("1.5s") == Approx(1.5));
  CHECK(*units::parse_duration("2m") == 120);
  CHECK(*units::parse_duration("1h") == 3600);
  CHECK(*units::parse_duration("1d") == 86400);
  CHECK(*units::parse_duration(".5") == Approx(0.5));
}

TEST_CASE("units::parse_duration: refuses what is not a finite, unsigned number with a known unit") {
  for (const char* text : {"", "1x", "nan", "inf", "-1", "+1", " 1", "1 ", "1e3", "1s2", "s", "0x10", "1.5.2", "ms"}) {
    auto result = units::parse_duration(text);
    INFO(text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error() == std::string("'") + text + "' is not a duration (like 1.5, 500ms, 2m)");
  }
}

TEST_CASE("units::parse_size: bytes, binary and decimal units, fractions that make whole bytes") {
  CHECK(*units::parse_size("4096") == 4096);
  CHECK(*units::parse_size("4096B") == 4096);
  CHECK(*units::parse_size("64K") == 65536);
  CHECK(*units::parse_size("64k") == 65536);
  CHECK(*units::parse_size("64KiB") == 65536);
  CHECK(*units::parse_size("16M") == 16u << 20);
  CHECK(*units::parse_size("16MiB") == 16u << 20);
  CHECK(*units::parse_size("1G") == std::uint64_t{1} << 30);
  CHECK(*units::parse_size("1GiB") == std::uint64_t{1} << 30);
  CHECK(*units::parse_size("1KB") == 1000);
  CHECK(*units::parse_size("1MB") == 1000000);
  CHECK(*units::parse_size("1.5K") == 1536);
  CHECK(*units::parse_size("18446744073709551615") == UINT64_MAX);
  // Exact past 2^53, where a double would round (a fuzz finding).
  CHECK(*units::parse_size("9245547562216359KiB") == 9467440703709551616ull);
  CHECK(units::parse_size("18014398509481984KiB").error() == "'18014398509481984KiB' is too large");
}

TEST_CASE("units::parse_size: refuses signs, unknown units, fractions of a byte and overflow") {
  CHECK(units::parse_size("-1").error() == "'-1' is not a size (like 4096, 64K, 16MiB)");
  CHECK(units::parse_size("12Q").error() == "'12Q' is not a size (like 4096, 64K, 16MiB)");
  CHECK(units::parse_size("nan").error() == "'nan' is not a size (like 4096, 64K, 16MiB)");
  CHECK(units::parse_size("1.5").error() == "'1.5' is not a whole number of bytes");
  CHECK(units::parse_size("1.0001K").error() == "'1.0001K' is not a whole number of bytes");
  CHECK(units::parse_size("18446744073709551616").error() == "'18446744073709551616' is too large");
  CHECK(units::parse_size("99999999T").error() == "'99999999T' is too large");
}

TEST_CASE("units::parse_count: whole numbers with an optional minus sign") {
  CHECK(*units::parse_count("8") == 8);
  CHECK(*units::parse_count("-1") == -1);
  CHECK(*units::parse_count("0") == 0);
  for (const char* text : {"", "1.5", "abc", "+1", " 1", "1 ", "-", "1e3", "0x10"}) {
    INFO(text);
    CHECK(units::parse_count(text).error() == std::string("'") + text + "' is not a whole number");
  }
  CHECK(units::parse_count("99999999999999999999").error() == "'99999999999999999999' is too large");
}

TEST_CASE("units::parse_duration: a long or hostile value is echoed short and printable") {
  std::string text(100, '9');
  text += "\x1b[31m";
  auto error = units::parse_duration(text).error();
  CHECK(error.size() < 100); // 40 characters of the value, then "..."
  CHECK(error.find('\x1b') == std::string::npos);
}

TEST_CASE("units::format_duration and format_size: exact, human, and read back the same") {
  CHECK(units::format_duration(300) == "5m");
  CHECK(units::format_duration(10) == "10s");
  CHECK(units::format_duration(0.25) == "250ms");
  CHECK(units::format_duration(1.5) == "1.5s");
  CHECK(units::format_duration(0) == "0s");
  CHECK(units::format_duration(3600) == "1h");
  for (double seconds : {0.0, 0.001, 0.25, 1.0, 1.5, 2.75, 60.0, 90.0, 300.0, 3600.0, 86400.0, 0.000001, 1.5e-7,
                         12345.678901234, 1.8000330158240915e26}) {
    INFO(seconds);
    auto again = units::parse_duration(units::format_duration(seconds));
    REQUIRE(again.ok());
    CHECK(std::fabs(*again - seconds) <= 1e-9 * std::max(1.0, seconds));
  }
  CHECK(units::format_size(16u << 20) == "16 MiB");
  CHECK(units::format_size(1536) == "1536 B");
  CHECK(units::format_size(std::uint64_t{1} << 30) == "1 GiB");
  CHECK(units::format_size(0) == "0 B");
}

TEST_CASE("units::parse_number: plain finite decimals only") {
  CHECK(*units::parse_number("1000") == 1000);
  CHECK(*units::parse_number("0.5") == Approx(0.5));
  for (const char* text : {"", "nan", "inf", "-1", "1s", "1e3", "abc"}) {
    INFO(text);
    CHECK(units::parse_number(text).error() == std::string("'") + text + "' is not a number (like 10 or 0.5)");
  }
}
