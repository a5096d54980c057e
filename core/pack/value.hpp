// Values as text: parsing command-line values for `pack` and printing unpacked values so that
// feeding the printed text back to `pack` gives the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/util/result.hpp"

namespace netlab::pack {

// An unpacked value. Integers keep their signedness so that 2**64-1 and -1 print differently;
// bytes (c, s, p) are raw and may hold any byte.
struct Bytes {
  std::string data;
};
using Value = std::variant<bool, std::int64_t, std::uint64_t, double, Bytes>;

// A parsed integer of any sign, wide enough to tell "out of range" from "not an integer".
struct Integer {
  bool negative = false;
  unsigned __int128 magnitude = 0;
};

// Decimal, 0x, 0o or 0b with an optional sign; leading zeros are allowed, as in int(text).
Result<Integer> parse_integer(std::string_view text);

// Floats as Python's float() reads them (1e-3, -0.0, inf, -infinity, nan) plus integer forms
// (0x10); values beyond the double range become inf, as float('1e999') does.
Result<double> parse_float(std::string_view text);

// true/false/1/0, in any case (so Python's True/False work too).
Result<bool> parse_bool(std::string_view text);

// Decodes the C escapes \n \t \r \\ \0 \' \" \xNN; any other backslash sequence is an error.
Result<std::string> decode_escapes(std::string_view text);

// Appends `bytes` with printable ASCII kept and everything else escaped, so decode_escapes
// gives the bytes back; tab, newline and backslash are always escaped, which keeps one value
// per line and tab-separated records unambiguous.
void append_escaped(std::string& out, std::string_view bytes);

// Appends `value` the way Python's repr(float) writes it: shortest round-trip digits, "1e-05",
// "1e+16", "100.0", "-0.0", "inf", "nan".
void append_float(std::string& out, double value);

// Appends any value in the notation above; booleans as true/false.
void append_value(std::string& out, const Value& value);

} // namespace netlab::pack
