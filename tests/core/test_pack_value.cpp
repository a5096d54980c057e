// Unit tests for core/pack/value: command-line value parsing and Python-style printing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/pack/value.hpp"

using namespace netlab::pack;

namespace {

std::string float_text(double value) {
  std::string out;
  append_float(out, value);
  return out;
}

std::string escaped(std::string_view bytes) {
  std::string out;
  append_escaped(out, bytes);
  return out;
}

} // namespace

TEST_CASE("pack::parse_integer: bases, signs and limits", "[pack]") {
  auto check = [](const char* text, bool negative, unsigned long long magnitude) {
    INFO(text);
    auto value = parse_integer(text);
    REQUIRE(value.ok());
    CHECK(value->negative == negative);
    CHECK(value->magnitude == magnitude);
  };
  check("0", false, 0);
  check("-0", false, 0);
  check("+12", false, 12);
  check("-0x1F", true, 31);
  check("0o17", false, 15);
  check("0b101", false, 5);
  check("007", false, 7);
  check("18446744073709551615", false, 18446744073709551615ULL);
  for (const char* bad : {"", "-", "0x", "1.5", "12a", "0b2", " 1", "1_000", "abc"}) {
    INFO(bad);
    auto value = parse_integer(bad);
    REQUIRE_FALSE(value.ok());
    CHECK(value.error() == "required argument is not an integer");
  }
  CHECK(parse_integer("999999999999999999999999999999999999999999").error() == "argument out of range");
  // The edge of the 128-bit magnitude, in every base: the last value fits, one more does not.
  auto max = parse_integer("340282366920938463463374607431768211455");
  REQUIRE(max.ok());
  CHECK(max->magnitude == ~static_cast<unsigned __int128>(0));
  CHECK(parse_integer("340282366920938463463374607431768211456").error() == "argument out of range");
  CHECK(parse_integer("-0xffffffffffffffffffffffffffffffff").ok());
  CHECK(parse_integer("0x100000000000000000000000000000000").error() == "argument out of range");
  CHECK(parse_integer("0b" + std::string(128, '1')).ok());
  CHECK(parse_integer("0b1" + std::string(128, '0')).error() == "argument out of range");
  CHECK(parse_integer("0o3" + std::string(42, '7')).ok());
  CHECK(parse_integer("0o4" + std::string(42, '0')).error() == "argument out of range");
}

TEST_CASE("pack::parse_float: Python float() forms", "[pack]") {
  CHECK(*parse_float("1e-3") == 1e-3);
  CHECK(*parse_float("-2.5") == -2.5);
  CHECK(*parse_float(".5") == 0.5);
  CHECK(*parse_float("5.") == 5.0);
  CHECK(*parse_float("0x10") == 16.0);
  CHECK(std::isinf(*parse_float("inf")));
  CHECK(*parse_float("-Infinity") < 0);
  CHECK(std::isnan(*parse_float("nan")));
  CHECK(std::signbit(*parse_float("-0.0")));
  CHECK(std::isinf(*parse_float("1e999")));
  CHECK(*parse_float("1e-999") == 0.0);
  for (const char* bad : {"", "e5", "1e", "0x1p3", " 1", "1.5.5", "inff", "--1"}) {
    INFO(bad);
    CHECK_FALSE(parse_float(bad).ok());
  }
}

TEST_CASE("pack::parse_bool: true/false/1/0 in any case", "[pack]") {
  CHECK(*parse_bool("true"));
  CHECK(*parse_bool("True"));
  CHECK(*parse_bool("1"));
  CHECK_FALSE(*parse_bool("FALSE"));
  CHECK_FALSE(*parse_bool("0"));
  CHECK_FALSE(parse_bool("yes").ok());
  CHECK_FALSE(parse_bool("2").ok());
}

TEST_CASE("pack::decode_escapes: C escapes decode to the bytes they name", "[pack]") {
  CHECK(*decode_escapes("a\\nb") == "a\nb");
  CHECK(*decode_escapes("\\t\\r\\\\") == "\t\r\\");
  CHECK(*decode_escapes("\\0") == std::string(1, '\0'));
  CHECK(*decode_escapes("\\xff\\x00\\x4A") == std::string("\xff\0J", 3));
  CHECK(*decode_escapes("\\'\\\"") == "'\"");
  CHECK_FALSE(decode_escapes("\\").ok());
  CHECK_FALSE(decode_escapes("\\x4").ok());
  CHECK_FALSE(decode_escapes("\\xzz").ok());
  CHECK_FALSE(decode_escapes("\\q").ok());
}

TEST_CASE("pack::append_escaped: every byte round-trips", "[pack]") {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all.push_back(static_cast<char>(c));
  }
  auto text = escaped(all);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find('\t') == std::string::npos);
  CHECK(*decode_escapes(text) == all);
  CHECK(escaped(std::string("a\0"
                            "1",
                            3)) == "a\\x001");
  CHECK(escaped("tab\there\\") == "tab\\there\\\\");
}

TEST_CASE("pack::append_float: a float is written the way Python's repr() writes it", "[pack]") {
  CHECK(float_text(1.0) == "1.0");
  CHECK(float_text(-0.0) == "-0.0");
  CHECK(float_text(0.1) == "0.1");
  CHECK(float_text(1e-5) == "1e-05");
  CHECK(float_text(0.0001) == "0.0001");
  CHECK(float_text(1e16) == "1e+16");
  CHECK(float_text(1e15) == "1000000000000000.0");
  CHECK(float_text(1.5e16) == "1.5e+16");
  CHECK(float_text(123456.789) == "123456.789");
  CHECK(float_text(static_cast<double>(0.1f)) == "0.10000000149011612");
  CHECK(float_text(5e-324) == "5e-324");
  CHECK(float_text(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(float_text(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(float_text(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(float_text(std::nan("")) == "nan");
  CHECK(float_text(-std::nan("")) == "nan");
}

TEST_CASE("pack::append_value: each kind in pack's notation", "[pack]") {
  std::string out;
  append_value(out, Value{true});
  out += ' ';
  append_value(out, Value{std::int64_t{-5}});
  out += ' ';
  append_value(out, Value{std::uint64_t{18446744073709551615ULL}});
  out += ' ';
  append_value(out, Value{2.5});
  out += ' ';
  append_value(out, Value{Bytes{"hi\n"}});
  CHECK(out == "true -5 18446744073709551615 2.5 hi\\n");
}
