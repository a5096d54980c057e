// Format-string parsing, following CPython's Modules/_struct.c (prepare_s, whichtable, align).
#include "core/pack/format.hpp"

#include <bit>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace netlab::pack {
namespace {

struct CodeInfo {
  std::size_t size;
  std::size_t alignment;
};

// Python's limit is PY_SSIZE_T_MAX; sizes past it are "too long" even if size_t could hold them.
constexpr std::size_t k_max_size = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());

// The native table uses the C types' own sizes and alignments, as CPython's native_table does.
bool native_code(char code, CodeInfo& info) {
  switch (code) {
  case 'x':
  case 'c':
  case 'b':
  case 'B':
  case 's':
  case 'p':
    info = {1, 0};
    return true;
  case '?':
    info = {sizeof(bool), alignof(bool)};
    return true;
  case 'h':
  case 'H':
  case 'e':
    info = {sizeof(short), alignof(short)};
    return true;
  case 'i':
  case 'I':
    info = {sizeof(int), alignof(int)};
    return true;
  case 'l':
  case 'L':
    info = {sizeof(long), alignof(long)};
    return true;
  case 'q':
  case 'Q':
    info = {sizeof(long long), alignof(long long)};
    return true;
  case 'n':
  case 'N':
    info = {sizeof(std::size_t), alignof(std::size_t)};
    return true;
  case 'f':
    info = {sizeof(float), alignof(float)};
    return true;
  case 'd':
    info = {sizeof(double), alignof(double)};
    return true;
  case 'P':
    info = {sizeof(void*), alignof(void*)};
    return true;
  default:
    return false;
  }
}

bool standard_code(char code, CodeInfo& info) {
  switch (code) {
  case 'x':
  case 'c':
  case 'b':
  case 'B':
  case '?':
  case 's':
  case 'p':
    info = {1, 0};
    return true;
  case 'h':
  case 'H':
  case 'e':
    info = {2, 0};
    return true;
  case 'i':
  case 'I':
  case 'l':
  case 'L':
  case 'f':
    info = {4, 0};
    return true;
  case 'q':
  case 'Q':
  case 'd':
    info = {8, 0};
    return true;
  default:
    return false;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

} // namespace

std::size_t Item::values() const {
  if (code == 'x') {
    return 0;
  }
  if (code == 's' || code == 'p') {
    return 1;
  }
  return count;
}

std::size_t Item::byte_size() const { return (code == 's' || code == 'p') ? item_size : item_size * count; }

Result<Format> parse_format(std::string_view text) {
  Format format;
  format.text = std::string(text);
  if (text.find('\0') != std::string_view::npos) {
    return fail("embedded null character");
  }
  const bool host_little = std::endian::native == std::endian::little;
  std::size_t pos = 0;
  if (!text.empty()) {
    switch (text[0]) {
    case '@':
      pos = 1;
      break;
    case '=':
      format.prefix = '=';
      format.native = false;
      pos = 1;
      break;
    case '<':
      format.prefix = '<';
      format.native = false;
      pos = 1;
      break;
    case '>':
    case '!':
      format.prefix = text[0];
      format.native = false;
      pos = 1;
      break;
    default:
      break;
    }
  }
  format.little = format.prefix == '<' || ((format.prefix == '@' || format.prefix == '=') && host_little);

  std::size_t size = 0;
  std::size_t values = 0;
  while (pos < text.size()) {
    char c = text[pos++];
    if (is_space(c)) {
      continue;
    }
    std::size_t count = 1;
    if (c >= '0' && c <= '9') {
      count = static_cast<std::size_t>(c - '0');
      // Python reads the count up to the first non-digit, and that very character is the code:
      // "2 h" is a bad char, not a count of two.
      c = pos < text.size() ? text[pos++] : '\0';
      while (c >= '0' && c <= '9') {
        auto digit = static_cast<std::size_t>(c - '0');
        if (count > (k_max_size - digit) / 10) {
          return fail("total struct size too long");
        }
        count = count * 10 + digit;
        c = pos < text.size() ? text[pos++] : '\0';
      }
      if (c == '\0') {
        return fail("repeat count given without format specifier");
      }
    }
    CodeInfo info{};
    if (!(format.native ? native_code(c, info) : standard_code(c, info))) {
      return fail("bad char in struct format");
    }
    Item item;
    item.code = c;
    item.count = count;
    // Alignment applies even to a zero count: "llh0l" pads the struct to a multiple of 8.
    if (info.alignment > 1 && size > 0) {
      std::size_t extra = (info.alignment - 1) - (size - 1) % info.alignment;
      if (extra > k_max_size - size) {
        return fail("total struct size too long");
      }
      item.padding = extra;
      size += extra;
    }
    item.offset = size;
    item.item_size = (c == 's' || c == 'p') ? count : info.size;
    std::size_t bytes = 0;
    if (c == 's' || c == 'p') {
      bytes = count;
    } else {
      if (count > (k_max_size - size) / info.size) {
        return fail("total struct size too long");
      }
      bytes = count * info.size;
    }
    if (bytes > k_max_size - size) {
      return fail("total struct size too long");
    }
    size += bytes;
    values += item.values();
    format.items.push_back(item);
  }
  format.size = size;
  format.values = values;
  return format;
}

std::string_view order_name(const Format& format) {
  if (format.prefix == '@') {
    return "native";
  }
  return format.little ? "little" : "big";
}

} // namespace netlab::pack
