// Record packing and unpacking, following CPython's Modules/_struct.c and PyFloat_Pack/Unpack.
#include "core/pack/codec.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace netlab::pack {
namespace {

using u128 = unsigned __int128;

bool is_signed_code(char code) {
  return code == 'b' || code == 'h' || code == 'i' || code == 'l' || code == 'q' || code == 'n';
}

bool is_integer_code(char code) {
  switch (code) {
  case 'b':
  case 'B':
  case 'h':
  case 'H':
  case 'i':
  case 'I':
  case 'l':
  case 'L':
  case 'q':
  case 'Q':
  case 'n':
  case 'N':
  case 'P':
    return true;
  default:
    return false;
  }
}

std::string u128_text(u128 value) {
  if (value == 0) {
    return "0";
  }
  std::string digits;
  while (value > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

void store(unsigned char* p, std::uint64_t bits, std::size_t size, bool little) {
  for (std::size_t i = 0; i < size; ++i) {
    auto byte = static_cast<unsigned char>(bits >> (8 * i));
    p[little ? i : size - 1 - i] = byte;
  }
}

std::uint64_t load(const unsigned char* p, std::size_t size, bool little) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    bits |= std::uint64_t{p[little ? i : size - 1 - i]} << (8 * i);
  }
  return bits;
}

// The range check of _struct.c: Python's message for the code, and two's complement bits.
Result<std::uint64_t> integer_bits(char code, std::size_t size, const Integer& value) {
  const unsigned bits = static_cast<unsigned>(size * 8);
  u128 unsigned_max = (u128{1} << bits) - 1;
  if (code == 'P') {
    // PyLong_AsVoidPtr takes a negative value as a C long and anything else as unsigned long.
    if (value.negative ? value.magnitude > (u128{1} << 63) : value.magnitude > unsigned_max) {
      return fail("int too large to convert");
    }
  } else if (is_signed_code(code)) {
    u128 limit = u128{1} << (bits - 1);
    if (value.negative ? value.magnitude > limit : value.magnitude >= limit) {
      return fail(
          fmt::format("'{}' format requires -{} <= number <= {}", code, u128_text(limit), u128_text(limit - 1)));
    }
  } else if (value.negative || value.magnitude > unsigned_max) {
    return fail(fmt::format("'{}' format requires 0 <= number <= {}", code, u128_text(unsigned_max)));
  }
  auto magnitude = static_cast<std::uint64_t>(value.magnitude);
  return value.negative ? ~magnitude + 1 : magnitude;
}

Result<std::uint32_t> double_to_float_bits(double value, bool native) {
  auto narrow = static_cast<float>(value);
  // PyFloat_Pack4 refuses a finite double that overflows a float; the native 'f' code in
  // _struct.c is a plain C cast and gives inf instead.
  if (!native && std::isinf(narrow) && !std::isinf(value)) {
    return fail("float too large to pack with f format");
  }
  std::uint32_t bits = 0;
  std::memcpy(&bits, &narrow, sizeof(bits));
  return bits;
}

Result<void> pack_value(const Format& format, const Item& item, std::string_view text, unsigned char* p) {
  const char code = item.code;
  if (is_integer_code(code)) {
    auto integer = parse_integer(text);
    if (!integer) {
      return integer.failure();
    }
    NETLAB_TRY(auto bits, integer_bits(code, item.item_size, *integer));
    // Native codes are stored in host order, which format.little already says for '@'.
    store(p, bits, item.item_size, format.little);
    return {};
  }
  switch (code) {
  case '?': {
    NETLAB_TRY(bool flag, parse_bool(text));
    *p = flag ? 1 : 0;
    return {};
  }
  case 'e': {
    NETLAB_TRY(double value, parse_float(text));
    NETLAB_TRY(std::uint16_t bits, double_to_half(value));
    store(p, bits, 2, format.little);
    return {};
  }
  case 'f': {
    NETLAB_TRY(double value, parse_float(text));
    NETLAB_TRY(std::uint32_t bits, double_to_float_bits(value, format.native));
    store(p, bits, 4, format.little);
    return {};
  }
  case 'd': {
    NETLAB_TRY(double value, parse_float(text));
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    store(p, bits, 8, format.little);
    return {};
  }
  case 'c': {
    NETLAB_TRY(auto bytes, decode_escapes(text));
    if (bytes.size() != 1) {
      return fail("char format requires a bytes object of length 1");
    }
    *p = static_cast<unsigned char>(bytes[0]);
    return {};
  }
  case 's': {
    NETLAB_TRY(auto bytes, decode_escapes(text));
    std::memcpy(p, bytes.data(), std::min(bytes.size(), item.item_size));
    return {};
  }
  case 'p': {
    NETLAB_TRY(auto bytes, decode_escapes(text));
    if (item.item_size == 0) {
      // CPython writes the length byte (-1 as 0xff) even for "0p", into whatever follows: a
      // pad byte keeps it, the next field overwrites it, past the end it is dropped.
      return {};
    }
    std::size_t n = std::min(bytes.size(), item.item_size - 1);
    std::memcpy(p + 1, bytes.data(), n);
    *p = static_cast<unsigned char>(std::min<std::size_t>(n, 255));
    return {};
  }
  default:
    return fail(fmt::format("bad char in struct format"));
  }
}

} // namespace

Result<std::uint16_t> double_to_half(double x) {
  unsigned sign = 0;
  int e = 0;
  unsigned bits = 0;
  if (x == 0.0) {
    sign = std::signbit(x) ? 1 : 0;
  } else if (std::isinf(x)) {
    sign = x < 0.0 ? 1 : 0;
    e = 0x1f;
  } else if (std::isnan(x)) {
    sign = std::signbit(x) ? 1 : 0;
    e = 0x1f;
    bits = 512;
  } else {
    sign = x < 0.0 ? 1 : 0;
    if (sign) {
      x = -x;
    }
    double f = std::frexp(x, &e);
    f *= 2.0;
    e--;
    if (e >= 16) {
      return fail("float too large to pack with e format");
    }
    if (e < -25) {
      f = 0.0;
      e = 0;
    } else if (e < -14) {
      f = std::ldexp(f, 14 + e);
      e = 0;
    } else {
      e += 15;
      f -= 1.0;
    }
    f *= 1024.0;
    bits = static_cast<unsigned>(f);
    if ((f - bits > 0.5) || ((f - bits == 0.5) && (bits % 2 == 1))) {
      ++bits;
      if (bits == 1024) {
        bits = 0;
        ++e;
        if (e == 31) {
          return fail("float too large to pack with e format");
        }
      }
    }
  }
  return static_cast<std::uint16_t>(bits | (static_cast<unsigned>(e) << 10) | (sign << 15));
}

double half_to_double(std::uint16_t half) {
  unsigned sign = (half >> 15) & 1;
  int e = (half >> 10) & 0x1f;
  unsigned f = half & 0x3ff;
  if (e == 0x1f) {
    if (f == 0) {
      return sign ? -HUGE_VAL : HUGE_VAL;
    }
    return sign ? -std::nan("") : std::nan("");
  }
  double x = static_cast<double>(f) / 1024.0;
  if (e == 0) {
    e = -14;
  } else {
    x += 1.0;
    e -= 15;
  }
  x = std::ldexp(x, e);
  return sign ? -x : x;
}

Result<void> pack_record(const Format& format, std::span<const std::string_view> values, std::string& out) {
  if (values.size() != format.values) {
    return fail(fmt::format("pack expected {} items for packing (got {})", format.values, values.size()));
  }
  NETLAB_TRY_VOID(check_record_size(format));
  const std::size_t start = out.size();
  out.resize(start + format.size, '\0');
  auto* base = reinterpret_cast<unsigned char*>(out.data() + start);
  std::size_t next = 0;
  for (const auto& item : format.items) {
    if (item.code == 'x') {
      continue;
    }
    std::size_t repeat = item.values();
    for (std::size_t r = 0; r < repeat; ++r, ++next) {
      std::size_t offset = item.offset + ((item.code == 's' || item.code == 'p') ? 0 : r * item.item_size);
      auto packed = pack_value(format, item, values[next], base + offset);
      if (!packed) {
        out.resize(start);
        return fail(fmt::format("{} (value {}: '{}')", packed.error(), next + 1, values[next]));
      }
      if (item.code == 'p' && item.item_size == 0 && item.offset < format.size) {
        base[item.offset] = 0xff;
      }
    }
  }
  return {};
}

Result<void> check_record_size(const Format& format) {
  if (format.size > k_max_record) {
    return fail(fmt::format("struct size {} is over netlab's limit of {} bytes", format.size, k_max_record));
  }
  return {};
}

Result<void> check_unpackable(const Format& format) {
  NETLAB_TRY_VOID(check_record_size(format));
  for (const auto& item : format.items) {
    if (item.code == 'p' && item.count == 0) {
      return fail("'0p' cannot be unpacked (Python raises SystemError: negative size)");
    }
  }
  return {};
}

void unpack_record(const Format& format, std::string_view record, std::vector<Value>& out) {
  out.clear();
  const auto* base = reinterpret_cast<const unsigned char*>(record.data());
  for (const auto& item : format.items) {
    const unsigned char* p = base + item.offset;
    switch (item.code) {
    case 'x':
      continue;
    case 's':
      out.emplace_back(Bytes{std::string(reinterpret_cast<const char*>(p), item.item_size)});
      continue;
    case 'p': {
      std::size_t n = *p;
      if (n >= item.item_size) {
        n = item.item_size - 1;
      }
      out.emplace_back(Bytes{std::string(reinterpret_cast<const char*>(p + 1), n)});
      continue;
    }
    default:
      break;
    }
    for (std::size_t r = 0; r < item.count; ++r, p += item.item_size) {
      switch (item.code) {
      case 'c':
        out.emplace_back(Bytes{std::string(1, static_cast<char>(*p))});
        break;
      case '?':
        out.emplace_back(*p != 0);
        break;
      case 'e':
        out.emplace_back(half_to_double(static_cast<std::uint16_t>(load(p, 2, format.little))));
        break;
      case 'f': {
        auto bits = static_cast<std::uint32_t>(load(p, 4, format.little));
        float narrow = 0;
        std::memcpy(&narrow, &bits, sizeof(narrow));
        out.emplace_back(static_cast<double>(narrow));
        break;
      }
      case 'd': {
        auto bits = load(p, 8, format.little);
        double wide = 0;
        std::memcpy(&wide, &bits, sizeof(wide));
        out.emplace_back(wide);
        break;
      }
      default: {
        auto bits = load(p, item.item_size, format.little);
        if (is_signed_code(item.code)) {
          const unsigned shift = static_cast<unsigned>(64 - 8 * item.item_size);
          // Sign-extend through the top bits: shifting a signed value right is arithmetic in C++20.
          out.emplace_back(static_cast<std::int64_t>(bits << shift) >> shift);
        } else {
          out.emplace_back(bits);
        }
        break;
      }
      }
    }
  }
}

Result<std::string> pack(const Format& format, std::span<const std::string_view> values) {
  std::string out;
  NETLAB_TRY_VOID(pack_record(format, values, out));
  return out;
}

Result<std::vector<Value>> unpack(const Format& format, std::string_view bytes) {
  NETLAB_TRY_VOID(check_unpackable(format));
  if (bytes.size() != format.size) {
    return fail(fmt::format("unpack requires a buffer of {} bytes (got {})", format.size, bytes.size()));
  }
  std::vector<Value> values;
  unpack_record(format, bytes, values);
  return values;
}

} // namespace netlab::pack
