// Value parsing and printing for pack/unpack.
#include "core/pack/value.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace netlab::pack {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view text, std::string_view word) {
  if (text.size() != word.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (lower(text[i]) != word[i]) {
      return false;
    }
  }
  return true;
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = lower(c);
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 10;
  }
  return 99;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Python's float() grammar without whitespace and underscores: [sign] digits [. digits] [e [sign] digits].
bool is_decimal_float(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    ++i;
  }
  std::size_t mantissa_digits = 0;
  while (i < text.size() && is_digit(text[i])) {
    ++i;
    ++mantissa_digits;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i])) {
      ++i;
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      ++i;
    }
    std::size_t exponent_digits = 0;
    while (i < text.size() && is_digit(text[i])) {
      ++i;
      ++exponent_digits;
    }
    if (exponent_digits == 0) {
      return false;
    }
  }
  return i == text.size();
}

} // namespace

Result<Integer> parse_integer(std::string_view text) {
  Integer result;
  std::string_view rest = text;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    result.negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  int base = 10;
  if (rest.size() >= 2 && rest[0] == '0') {
    char marker = lower(rest[1]);
    if (marker == 'x' || marker == 'o' || marker == 'b') {
      base = marker == 'x' ? 16 : marker == 'o' ? 8 : 2;
      rest.remove_prefix(2);
    }
  }
  if (rest.empty()) {
    return fail("required argument is not an integer");
  }
  constexpr unsigned __int128 k_max = ~static_cast<unsigned __int128>(0);
  // Below this, times a base of at most 16 plus a digit cannot overflow, so the exact check (a
  // 128-bit division, the slowest step of packing text) runs only for huge numbers.
  constexpr unsigned __int128 k_surely_fits = k_max >> 5;
  for (char c : rest) {
    int digit = digit_value(c);
    if (digit >= base) {
      return fail("required argument is not an integer");
    }
    auto d = static_cast<unsigned __int128>(digit);
    if (result.magnitude > k_surely_fits && result.magnitude > (k_max - d) / static_cast<unsigned>(base)) {
      return fail("argument out of range");
    }
    result.magnitude = result.magnitude * static_cast<unsigned>(base) + d;
  }
  if (result.magnitude == 0) {
    result.negative = false;
  }
  return result;
}

Result<double> parse_float(std::string_view text) {
  std::string_view unsigned_text = text;
  bool negative = false;
  if (!unsigned_text.empty() && (unsigned_text[0] == '+' || unsigned_text[0] == '-')) {
    negative = unsigned_text[0] == '-';
    unsigned_text.remove_prefix(1);
  }
  if (equals_lower(unsigned_text, "inf") || equals_lower(unsigned_text, "infinity")) {
    return negative ? -HUGE_VAL : HUGE_VAL;
  }
  if (equals_lower(unsigned_text, "nan")) {
    return negative ? -std::nan("") : std::nan("");
  }
  if (is_decimal_float(text)) {
    // strtod rounds correctly and gives inf or 0 beyond the range, exactly like float(text);
    // the grammar check above keeps out what strtod accepts but Python does not (hex floats, spaces).
    std::string copy(text);
    errno = 0;
    return std::strtod(copy.c_str(), nullptr);
  }
  auto integer = parse_integer(text);
  if (!integer) {
    return fail("required argument is not a float");
  }
  auto magnitude = static_cast<double>(integer->magnitude);
  return integer->negative ? -magnitude : magnitude;
}

Result<bool> parse_bool(std::string_view text) {
  if (text == "1" || equals_lower(text, "true")) {
    return true;
  }
  if (text == "0" || equals_lower(text, "false")) {
    return false;
  }
  return fail("'?' format requires true, false, 1 or 0");
}

Result<std::string> decode_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= text.size()) {
      return fail("trailing backslash (write \\\\ for a backslash)");
    }
    char e = text[++i];
    switch (e) {
    case 'n':
      out.push_back('\n');
      break;
    case 't':
      out.push_back('\t');
      break;
    case 'r':
      out.push_back('\r');
      break;
    case '0':
      out.push_back('\0');
      break;
    case '\\':
    case '\'':
    case '"':
      out.push_back(e);
      break;
    case 'x': {
      int high = i + 1 < text.size() ? digit_value(text[i + 1]) : 99;
      int low = i + 2 < text.size() ? digit_value(text[i + 2]) : 99;
      if (high >= 16 || low >= 16) {
        return fail("\\x needs two hex digits");
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
      break;
    }
    default:
      return fail(fmt::format("unknown escape \\{}", e));
    }
  }
  return out;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char k_hex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('\\');
    switch (c) {
    case '\\':
      out.push_back('\\');
      break;
    case '\n':
      out.push_back('n');
      break;
    case '\t':
      out.push_back('t');
      break;
    case '\r':
      out.push_back('r');
      break;
    default:
      // NUL as \x00, not \0: "\0" then a digit would read like a C octal escape.
      out.push_back('x');
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xf]);
      break;
    }
  }
}

void append_float(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "nan";
    return;
  }
  if (std::isinf(value)) {
    out += value < 0 ? "-inf" : "inf";
    return;
  }
  // Shortest round-trip digits in scientific form, then laid out by repr's rule: positional
  // when the decimal point falls within -4 < decpt <= 16, exponent form otherwise.
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  (void)ec;
  std::string_view sci(buffer, static_cast<std::size_t>(end - buffer));
  bool negative = false;
  if (sci.front() == '-') {
    negative = true;
    sci.remove_prefix(1);
  }
  auto e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  int exponent = 0;
  auto exponent_text = sci.substr(e_pos + 1);
  if (!exponent_text.empty() && exponent_text[0] == '+') {
    exponent_text.remove_prefix(1);
  }
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') {
      digits.push_back(c);
    }
  }
  int decpt = exponent + 1;
  if (negative) {
    out.push_back('-');
  }
  auto ndigits = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-decpt), '0');
      out += digits;
    } else if (decpt >= ndigits) {
      out += digits;
      out.append(static_cast<std::size_t>(decpt - ndigits), '0');
      out += ".0";
    } else {
      out.append(digits, 0, static_cast<std::size_t>(decpt));
      out.push_back('.');
      out.append(digits, static_cast<std::size_t>(decpt));
    }
    return;
  }
  out.push_back(digits[0]);
  if (ndigits > 1) {
    out.push_back('.');
    out.append(digits, 1);
  }
  fmt::format_to(std::back_inserter(out), "e{}{:02d}", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
}

void append_value(std::string& out, const Value& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) {
          char buffer[24];
          auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
          (void)ec;
          out.append(buffer, end);
        } else if constexpr (std::is_same_v<T, double>) {
          append_float(out, v);
        } else {
          append_escaped(out, v.data);
        }
      },
      value);
}

} // namespace netlab::pack
