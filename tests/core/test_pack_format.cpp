// Unit tests for core/pack/format: sizes, padding and rejected formats as Python's struct has them.
#include <catch2/catch.hpp>

#include "core/pack/format.hpp"

using netlab::pack::parse_format;

TEST_CASE("pack::parse_format: calcsize matches Python", "[pack]") {
  struct Case {
    const char* text;
    std::size_t size;
    std::size_t values;
  };
  // Sizes taken from python3 -c 'import struct; print(struct.calcsize(F))' on x86-64 Linux.
  for (auto [text, size, values] :
       {Case{"", 0, 0},     Case{"bh", 4, 2},   Case{"=bh", 3, 2},    Case{"<bh", 3, 2},     Case{"@be", 4, 2},
        Case{"@bP", 16, 2}, Case{"@b0i", 4, 1}, Case{"llh0l", 24, 3}, Case{"@b3s", 4, 2},    Case{"3s", 3, 1},
        Case{"0s", 0, 1},   Case{"5p", 5, 1},   Case{"4x", 4, 0},     Case{"!IHq8s", 22, 4}, Case{"@IHq8s", 24, 4},
        Case{"<q", 8, 1},   Case{"<l", 4, 1},   Case{"@l", 8, 1},     Case{"3h", 6, 3},      Case{"<h ", 2, 1},
        Case{"0h", 0, 0},   Case{"@?", 1, 1},   Case{"nN", 16, 2},    Case{"=e", 2, 1},      Case{"cb?", 3, 3}}) {
    INFO(text);
    auto format = parse_format(text);
    REQUIRE(format.ok());
    CHECK(format->size == size);
    CHECK(format->values == values);
  }
}

TEST_CASE("pack::parse_format: prefixes set byte order and sizes", "[pack]") {
  auto big = parse_format("!i");
  REQUIRE(big.ok());
  CHECK_FALSE(big->little);
  CHECK_FALSE(big->native);
  CHECK(big->prefix == '!');
  auto little = parse_format("<i");
  REQUIRE(little.ok());
  CHECK(little->little);
  auto native = parse_format("i");
  REQUIRE(native.ok());
  CHECK(native->native);
  CHECK(native->prefix == '@');
}

TEST_CASE("pack::parse_format: padding is recorded per item", "[pack]") {
  auto format = parse_format("bhbq");
  REQUIRE(format.ok());
  REQUIRE(format->items.size() == 4);
  CHECK(format->items[1].padding == 1);
  CHECK(format->items[1].offset == 2);
  CHECK(format->items[3].padding == 3);
  CHECK(format->items[3].offset == 8);
  CHECK(format->size == 16);
}

TEST_CASE("pack::parse_format: errors read like struct.error", "[pack]") {
  struct Case {
    const char* text;
    const char* message;
  };
  for (auto [text, message] :
       {Case{"z", "bad char in struct format"}, Case{"<n", "bad char in struct format"},
        Case{"<P", "bad char in struct format"}, Case{" <h", "bad char in struct format"},
        Case{"2 h", "bad char in struct format"}, Case{"h2", "repeat count given without format specifier"},
        Case{"3", "repeat count given without format specifier"},
        Case{"99999999999999999999x", "total struct size too long"}, Case{"9223372036854775807x", nullptr},
        Case{"9223372036854775807xb", "total struct size too long"},
        Case{"4611686018427387904h", "total struct size too long"}}) {
    INFO(text);
    auto format = parse_format(text);
    if (message == nullptr) {
      CHECK(format.ok());
    } else {
      REQUIRE_FALSE(format.ok());
      CHECK(format.error() == message);
    }
  }
  CHECK_FALSE(parse_format(std::string_view("h\0h", 3)).ok());
}
