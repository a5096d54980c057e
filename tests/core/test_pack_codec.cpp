// Unit tests for core/pack/codec: bytes and errors checked against Python's struct by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/pack/codec.hpp"
#include "core/pack/encoding.hpp"

using namespace netlab::pack;

namespace {

// Packs texts with `format`; returns hex, or "error: MESSAGE".
std::string pack_hex(const char* format_text, std::initializer_list<std::string_view> values) {
  auto format = parse_format(format_text);
  if (!format) {
    return "error: " + format.error();
  }
  std::vector<std::string_view> list(values);
  auto packed = pack(*format, list);
  if (!packed) {
    return "error: " + packed.error();
  }
  std::string out;
  append_hex(out, *packed);
  return out;
}

std::string unpack_text(const char* format_text, std::string_view bytes) {
  auto format = parse_format(format_text);
  REQUIRE(format.ok());
  auto values = unpack(*format, bytes);
  if (!values) {
    return "error: " + values.error();
  }
  std::string out;
  for (const auto& value : *values) {
    if (!out.empty()) {
      out += ',';
    }
    append_value(out, value);
  }
  return out;
}

} // namespace

TEST_CASE("pack::pack: every code, as struct.pack gives it", "[pack]") {
  // Expected bytes from python3 struct.pack on x86-64 Linux.
  CHECK(pack_hex("<IH8s", {"1", "2", "hello"}) == "01000000020068656c6c6f000000");
  CHECK(pack_hex("!IHq8s", {"1", "2", "-3", "ab"}) == "000000010002fffffffffffffffd6162000000000000");
  CHECK(pack_hex("bh", {"1", "2"}) == "01000200");
  CHECK(pack_hex("=bh", {"1", "2"}) == "010200");
  CHECK(pack_hex("llh0l", {"1", "2", "3"}) == "010000000000000002000000000000000300000000000000");
  CHECK(pack_hex("<bBhHiIlLqQ", {"-1", "255", "-2", "65535", "-3", "4294967295", "-4", "4294967295", "-5",
                                 "18446744073709551615"}) == "ffff"
                                                             "feff"
                                                             "ffff"
                                                             "fdffffff"
                                                             "ffffffff"
                                                             "fcffffff"
                                                             "ffffffff"
                                                             "fbffffffffffffff"
                                                             "ffffffffffffffff");
  CHECK(pack_hex("nNP", {"-1", "1", "-1"}) == "ffffffffffffffff0100000000000000ffffffffffffffff");
  CHECK(pack_hex("<c?x?", {"\\n", "true", "0"}) == "0a010000");
  CHECK(pack_hex(">e", {"1.5"}) == "3e00");
  CHECK(pack_hex("<e", {"65519.99"}) == "ff7b");
  CHECK(pack_hex("<e", {"-0.0"}) == "0080");
  CHECK(pack_hex("<e", {"inf"}) == "007c");
  CHECK(pack_hex("<e", {"nan"}) == "007e");
  CHECK(pack_hex("<e", {"5.960464477539063e-08"}) == "0100");
  CHECK(pack_hex(">f", {"0.1"}) == "3dcccccd");
  CHECK(pack_hex(">d", {"-0.0"}) == "8000000000000000");
  CHECK(pack_hex("f", {"1e300"}) == "0000807f");
  CHECK(pack_hex("3s", {"abcdef"}) == "616263");
  CHECK(pack_hex("0s", {"abc"}) == "");
  CHECK(pack_hex("5p", {"abcdef"}) == "0461626364");
  CHECK(pack_hex("1p", {"abc"}) == "00");
  CHECK(pack_hex("0px", {"a"}) == "ff");
  CHECK(pack_hex("x0p", {"a"}) == "00");
  CHECK(pack_hex("b0ph", {"1", "a", "2"}) == "01ff0200");
  CHECK(pack_hex("300p", {std::string(300, 'a')}).substr(0, 2) == "ff");
  CHECK(pack_hex("<i", {"0x7fffffff"}) == "ffffff7f");
}

TEST_CASE("pack::pack: errors where struct.pack raises", "[pack]") {
  CHECK(pack_hex("<h", {"1", "2"}) == "error: pack expected 1 items for packing (got 2)");
  CHECK(pack_hex("<hh", {"1"}) == "error: pack expected 2 items for packing (got 1)");
  CHECK(pack_hex("<h", {"32768"}) == "error: 'h' format requires -32768 <= number <= 32767 (value 1: '32768')");
  CHECK(pack_hex("B", {"-1"}).starts_with("error: 'B' format requires 0 <= number <= 255"));
  CHECK(pack_hex("<Q", {"18446744073709551616"}).starts_with("error: 'Q' format requires"));
  CHECK(pack_hex("<q", {"-9223372036854775809"}).starts_with("error: 'q' format requires"));
  CHECK(pack_hex("P", {"18446744073709551616"}).starts_with("error: int too large to convert"));
  CHECK(pack_hex("P", {"-9223372036854775809"}).starts_with("error: int too large to convert"));
  CHECK(pack_hex("i", {"1.5"}).starts_with("error: required argument is not an integer"));
  CHECK(pack_hex("d", {"x"}).starts_with("error: required argument is not a float"));
  CHECK(pack_hex("<f", {"1e300"}).starts_with("error: float too large to pack with f format"));
  CHECK(pack_hex("<e", {"65520"}).starts_with("error: float too large to pack with e format"));
  CHECK(pack_hex("c", {"ab"}).starts_with("error: char format requires a bytes object of length 1"));
  CHECK(pack_hex("?", {"maybe"}).starts_with("error: '?' format requires"));
  CHECK(pack_hex("s", {"\\x"}).starts_with("error: \\x needs two hex digits"));
  CHECK(pack_hex("9999999999x", {}).starts_with("error: struct size"));
}

TEST_CASE("pack::unpack: values as struct.unpack returns them", "[pack]") {
  CHECK(unpack_text("<hH", std::string("\xff\xff\xff\xff", 4)) == "-1,65535");
  CHECK(unpack_text("!q", std::string("\x80\0\0\0\0\0\0\0", 8)) == "-9223372036854775808");
  CHECK(unpack_text("P", std::string(8, '\xff')) == "18446744073709551615");
  CHECK(unpack_text("<?", "\x02") == "true");
  CHECK(unpack_text("?", std::string(1, '\0')) == "false");
  CHECK(unpack_text("<e", "\x01\x7c") == "nan");
  CHECK(unpack_text("<e", std::string("\x00\xfc", 2)) == "-inf");
  CHECK(unpack_text("<e", std::string("\x01\x00", 2)) == "5.960464477539063e-08");
  CHECK(unpack_text(">f", "\x3d\xcc\xcc\xcd") == "0.10000000149011612");
  CHECK(unpack_text("5p", "\x09"
                          "abcd") == "abcd");
  CHECK(unpack_text("5p", "\x02"
                          "abcd") == "ab");
  CHECK(unpack_text("3sc", std::string("a\0\n\t", 4)) == "a\\x00\\n,\\t");
  CHECK(unpack_text("<h", "abc") == "error: unpack requires a buffer of 2 bytes (got 3)");
  CHECK(unpack_text("0p", "").starts_with("error: '0p' cannot be unpacked"));
  // A record unpack would have to hold whole, refused before any byte is read, as pack does.
  CHECK(unpack_text("<1073741825x", "") == "error: struct size 1073741825 is over netlab's limit of 1073741824 bytes");
  CHECK_FALSE(check_unpackable(*parse_format("1073741825x")).ok());
  CHECK(check_unpackable(*parse_format("1073741824x")).ok());
}

TEST_CASE("pack::double_to_half: exhaustive round trip of every half", "[pack]") {
  for (unsigned bits = 0; bits < 0x10000; ++bits) {
    double value = half_to_double(static_cast<std::uint16_t>(bits));
    auto back = double_to_half(value);
    REQUIRE(back.ok());
    if (std::isnan(value)) {
      CHECK((*back & 0x7fff) == 0x7e00);
    } else {
      CHECK(*back == bits);
    }
  }
}

TEST_CASE("pack::TextDecoder: hex and base64 in any split", "[pack]") {
  std::string bytes;
  for (int c = 0; c < 256; ++c) {
    bytes.push_back(static_cast<char>(c));
  }
  for (auto encoding : {Encoding::hex, Encoding::base64}) {
    for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{255}}) {
      std::string text;
      encoding == Encoding::hex ? append_hex(text, bytes.substr(0, cut + 1))
                                : append_base64(text, bytes.substr(0, cut + 1));
      text.insert(text.size() / 2, "\n ");
      for (std::size_t split = 0; split <= text.size(); ++split) {
        TextDecoder decoder(encoding);
        std::string out;
        REQUIRE(decoder.feed(std::string_view(text).substr(0, split), out).ok());
        REQUIRE(decoder.feed(std::string_view(text).substr(split), out).ok());
        REQUIRE(decoder.finish().ok());
        CHECK(out == bytes.substr(0, cut + 1));
      }
    }
  }
  TextDecoder odd(Encoding::hex);
  std::string out;
  REQUIRE(odd.feed("abc", out).ok());
  CHECK_FALSE(odd.finish().ok());
  TextDecoder bad(Encoding::hex);
  CHECK(bad.feed("0g", out).error() == "bad hex digit 'g' at offset 1");
}
