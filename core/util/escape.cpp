// Terminal-safe text: a small UTF-8 decoder that passes printable characters through.
#include "core/util/escape.hpp"

#include <cstdint>

namespace netlab {
namespace {

constexpr char k_hex[] = "0123456789abcdef";

void append_byte(std::string& out, unsigned char c) {
  out += "\\x";
  out.push_back(k_hex[c >> 4]);
  out.push_back(k_hex[c & 0xf]);
}

void append_code_point(std::string& out, std::uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) {
    out.push_back(k_hex[(cp >> shift) & 0xf]);
  }
}

// The length of the valid UTF-8 sequence at the start of `text` and its code point, or 0 when
// the first byte does not start one (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
std::size_t decode(std::string_view text, std::uint32_t& cp) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char first = byte(0);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
    cp = first & 0x1f;
    min = 0x80;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    cp = first & 0x0f;
    min = 0x800;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    cp = first & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return length;
}

bool is_hidden_control(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

} // namespace

void append_escaped_text(std::string& out, std::string_view text, bool keep_backslash) {
  out.reserve(out.size() + text.size());
  while (!text.empty()) {
    auto c = static_cast<unsigned char>(text.front());
    if (c < 0x80) {
      if (c >= 0x20 && c < 0x7f && (c != '\\' || keep_backslash)) {
        out.push_back(static_cast<char>(c));
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\r') {
        out += "\\r";
      } else {
        append_byte(out, c);
      }
      text.remove_prefix(1);
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t length = decode(text, cp);
    if (length == 0) {
      append_byte(out, c);
      text.remove_prefix(1);
    } else {
      if (is_hidden_control(cp)) {
        append_code_point(out, cp);
      } else {
        out.append(text.substr(0, length));
      }
      text.remove_prefix(length);
    }
  }
}

std::string escape_text(std::string_view text) {
  std::string out;
  append_escaped_text(out, text);
  return out;
}

} // namespace netlab
