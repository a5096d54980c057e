// libFuzzer target: `netlab pack`/`unpack`'s format parser, value parsers and codec. The input's
// first line is a struct format, each further line one value for `pack`; the same lines also
// serve as a raw record for `unpack`. Checked: the layout adds up, every value parser round-trips
// through its printer, and unpack's printed text packs back to the same values (the promise in
// value.hpp that `unpack` output can be fed to `pack`).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/pack/codec.hpp"
#include "core/pack/format.hpp"
#include "core/pack/value.hpp"

namespace {

using namespace netlab::pack;

// Keeps each run fast and far from k_max_record's 1 GiB allocations.
constexpr std::size_t k_max_size = 4096;

void require(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

std::vector<std::string> texts(const std::vector<Value>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    out.emplace_back();
    append_value(out.back(), value);
  }
  return out;
}

netlab::Result<std::string> pack_texts(const Format& format, const std::vector<std::string>& values) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return pack(format, views);
}

void check_layout(const Format& format) {
  std::size_t end = 0;
  std::size_t values = 0;
  for (const auto& item : format.items) {
    require(item.offset == end + item.padding);
    end = item.offset + item.byte_size();
    values += item.values();
  }
  require(end == format.size && values == format.values);
}

// Unpacked values print to text that packs again, and that unpacks to the same text.
void check_printed_repacks(const Format& format, const std::string& record) {
  auto first = unpack(format, record);
  require(first.ok());
  auto printed = texts(*first);
  auto repacked = pack_texts(format, printed);
  require(repacked.ok());
  auto second = unpack(format, *repacked);
  require(second.ok() && texts(*second) == printed);
}

void check_value_parsers(std::string_view text) {
  if (auto integer = parse_integer(text)) {
    std::string printed = integer->negative ? "-" : "";
    std::string digits;
    for (auto m = integer->magnitude; m > 0 || digits.empty(); m /= 10) {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    }
    auto again = parse_integer(printed + digits);
    require(again && again->negative == integer->negative && again->magnitude == integer->magnitude);
  }
  if (auto number = parse_float(text); number && !std::isnan(*number)) {
    std::string printed;
    append_float(printed, *number);
    auto again = parse_float(printed);
    require(again && std::memcmp(&*again, &*number, sizeof(double)) == 0);
  }
  if (auto bytes = decode_escapes(text)) {
    std::string printed;
    append_escaped(printed, *bytes);
    auto again = decode_escapes(printed);
    require(again && *again == *bytes);
  }
  std::string escaped;
  append_escaped(escaped, text);
  auto raw = decode_escapes(escaped);
  require(raw && *raw == text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view format_text = input.substr(0, newline);
  std::string_view rest = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  std::vector<std::string_view> values;
  for (std::size_t start = 0; start < rest.size();) {
    auto end = rest.find('\n', start);
    values.push_back(rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? rest.size() : end + 1;
  }
  for (auto value : values) {
    check_value_parsers(value);
  }

  auto format = parse_format(format_text);
  if (!format) {
    require(!format.error().empty());
    return 0;
  }
  check_layout(*format);
  if (format->size > k_max_size || !check_unpackable(*format)) {
    return 0;
  }
  // pack_record appends, and on failure must leave what was there untouched.
  std::string out = "kept";
  if (pack_record(*format, values, out)) {
    require(out.size() == 4 + format->size && out.starts_with("kept"));
    check_printed_repacks(*format, out.substr(4));
  } else {
    require(out == "kept");
  }
  std::string record(rest.substr(0, format->size));
  record.resize(format->size, '\0');
  check_printed_repacks(*format, record);
  return 0;
}
