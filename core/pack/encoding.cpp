// Hex and base64.
#include "core/pack/encoding.hpp"

#include <fmt/format.h>

namespace netlab::pack {
namespace {

constexpr char k_base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; }

} // namespace

void append_hex(std::string& out, std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::size_t start = out.size();
  out.resize(start + bytes.size() * 2);
  char* p = out.data() + start;
  for (unsigned char c : bytes) {
    *p++ = k_digits[c >> 4];
    *p++ = k_digits[c & 0xf];
  }
}

void append_base64(std::string& out, std::string_view bytes) {
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(k_base64[(v >> 18) & 63]);
    out.push_back(k_base64[(v >> 12) & 63]);
    out.push_back(k_base64[(v >> 6) & 63]);
    out.push_back(k_base64[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) {
      v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    out.push_back(k_base64[(v >> 18) & 63]);
    out.push_back(k_base64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? k_base64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

Result<void> TextDecoder::feed(std::string_view text, std::string& out) {
  for (char c : text) {
    ++m_offset;
    if (is_space(c)) {
      continue;
    }
    if (m_encoding == Encoding::hex) {
      int v = hex_value(c);
      if (v < 0) {
        return fail(fmt::format("bad hex digit '{}' at offset {}", c, m_offset - 1));
      }
      m_bits = (m_bits << 4) | static_cast<unsigned>(v);
      if (++m_count == 2) {
        out.push_back(static_cast<char>(m_bits & 0xff));
        m_bits = 0;
        m_count = 0;
      }
      continue;
    }
    if (c == '=') {
      // Padding may only end a group of 2 or 3 characters.
      if (m_count + m_padding < 2) {
        return fail(fmt::format("misplaced base64 padding at offset {}", m_offset - 1));
      }
      ++m_padding;
      if (m_count + m_padding == 4) {
        if (m_count == 2) {
          out.push_back(static_cast<char>((m_bits >> 4) & 0xff));
        } else {
          out.push_back(static_cast<char>((m_bits >> 10) & 0xff));
          out.push_back(static_cast<char>((m_bits >> 2) & 0xff));
        }
        m_bits = 0;
        m_count = 0;
        m_padding = 0;
      }
      continue;
    }
    int v = base64_value(c);
    if (v < 0 || m_padding > 0) {
      return fail(fmt::format("bad base64 character '{}' at offset {}", c, m_offset - 1));
    }
    m_bits = (m_bits << 6) | static_cast<unsigned>(v);
    if (++m_count == 4) {
      out.push_back(static_cast<char>((m_bits >> 16) & 0xff));
      out.push_back(static_cast<char>((m_bits >> 8) & 0xff));
      out.push_back(static_cast<char>(m_bits & 0xff));
      m_bits = 0;
      m_count = 0;
    }
  }
  return {};
}

Result<void> TextDecoder::finish() const {
  if (m_encoding == Encoding::hex && m_count != 0) {
    return fail(fmt::format("odd number of hex digits (input ends at offset {})", m_offset));
  }
  if (m_encoding == Encoding::base64 && (m_count != 0 || m_padding != 0)) {
    return fail(fmt::format("base64 input ends inside a group (offset {})", m_offset));
  }
  return {};
}

} // namespace netlab::pack
