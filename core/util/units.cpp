// Parsers for durations, sizes and counts: std::from_chars for the number (no locale, no
// leading whitespace, no "0x"), then a unit table.
#include "core/util/units.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace netlab::units {
namespace {

// The number at the start of `text` (digits, optional fraction and exponent), or nullopt-ish
// via ok=false. `rest` is what follows it.
bool leading_number(std::string_view text, double& value, std::string_view& rest) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.')) {
    return false; // no sign, no space, no "inf"/"nan"
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (error != std::errc() || !std::isfinite(value)) {
    return false;
  }
  rest = text.substr(static_cast<std::size_t>(end - text.data()));
  return true;
}

std::string shown(std::string_view text) {
  // A value is echoed inside quotes in one line: cut long ones and never print control bytes.
  std::string out;
  for (char c : text.substr(0, 40)) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  return text.size() > 40 ? out + "..." : out;
}

} // namespace

Result<double> parse_duration(std::string_view text) {
  auto bad = [&] { return fail(fmt::format("'{}' is not a duration (like 1.5, 500ms, 2m)", shown(text))); };
  double value = 0;
  std::string_view unit;
  if (!leading_number(text, value, unit)) {
    return bad();
  }
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ms") {
    scale = 1e-3;
  } else if (unit == "us") {
    scale = 1e-6;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return bad();
  }
  double seconds = value * scale;
  if (!std::isfinite(seconds)) {
    return fail(fmt::format("'{}' is too long a duration", shown(text)));
  }
  return seconds;
}

Result<double> parse_number(std::string_view text) {
  double value = 0;
  std::string_view rest;
  if (!leading_number(text, value, rest) || !rest.empty()) {
    return fail(fmt::format("'{}' is not a number (like 10 or 0.5)", shown(text)));
  }
  return value;
}

Result<std::uint64_t> parse_size(std::string_view text) {
  auto bad = [&] { return fail(fmt::format("'{}' is not a size (like 4096, 64K, 16MiB)", shown(text))); };
  double value = 0;
  std::string_view unit;
  if (!leading_number(text, value, unit)) {
    return bad();
  }
  struct Unit {
    std::string_view names[4];
    double scale;
  };
  static const Unit table[] = {
      {{"", "B"}, 1},
      {{"K", "k", "KiB", "Ki"}, 1024.0},
      {{"M", "MiB", "Mi"}, 1024.0 * 1024},
      {{"G", "GiB", "Gi"}, 1024.0 * 1024 * 1024},
      {{"T", "TiB", "Ti"}, 1024.0 * 1024 * 1024 * 1024},
      {{"KB", "kB"}, 1e3},
      {{"MB"}, 1e6},
      {{"GB"}, 1e9},
      {{"TB"}, 1e12},
  };
  double scale = unit.empty() ? 1 : 0;
  for (const auto& entry : table) {
    for (auto name : entry.names) {
      if (!name.empty() && name == unit) {
        scale = entry.scale;
      }
    }
  }
  if (scale == 0) {
    return bad();
  }
  // Digits alone are read exactly as an integer (a double loses precision past 2^53).
  if (unit.empty() || unit == "B") {
    std::uint64_t bytes = 0;
    auto digits = text.substr(0, text.size() - unit.size());
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bytes);
    if (error == std::errc::result_out_of_range) {
      return fail(fmt::format("'{}' is too large", shown(text)));
    }
    if (error != std::errc() || end != digits.data() + digits.size()) {
      return fail(fmt::format("'{}' is not a whole number of bytes", shown(text)));
    }
    return bytes;
  }
  // A whole number times a unit is done in integers, exactly (a double is not past 2^53).
  auto number = text.substr(0, text.size() - unit.size());
  if (number.find('.') == std::string_view::npos && scale == std::floor(scale)) {
    std::uint64_t whole = 0;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), whole);
    auto factor = static_cast<std::uint64_t>(scale);
    if (error == std::errc::result_out_of_range ||
        (error == std::errc() && whole > std::numeric_limits<std::uint64_t>::max() / factor)) {
      return fail(fmt::format("'{}' is too large", shown(text)));
    }
    if (error == std::errc() && end == number.data() + number.size()) {
      return whole * factor;
    }
  }
  double bytes = value * scale;
  if (bytes >= 18446744073709551616.0) {
    return fail(fmt::format("'{}' is too large", shown(text)));
  }
  if (bytes != std::floor(bytes)) {
    return fail(fmt::format("'{}' is not a whole number of bytes", shown(text)));
  }
  return static_cast<std::uint64_t>(bytes);
}

Result<std::int64_t> parse_count(std::string_view text) {
  std::int64_t value = 0;
  auto digits = text;
  if (!digits.empty() && digits[0] == '-') {
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::isdigit(static_cast<unsigned char>(digits[0]))) {
    return fail(fmt::format("'{}' is not a whole number", shown(text)));
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    return fail(fmt::format("'{}' is too large", shown(text)));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    return fail(fmt::format("'{}' is not a whole number", shown(text)));
  }
  return value;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) {
    return fmt::format("{}", seconds);
  }
  struct Unit {
    const char* name;
    double scale;
  };
  static const Unit units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}};
  if (seconds == 0) {
    return "0s";
  }
  for (const auto& unit : units) {
    double count = seconds / unit.scale;
    // A whole number of this unit, exactly as far as a double can tell (and one that fits an
    // integer: past 2^53 every double is whole and the cast could overflow).
    if (count >= 1 && count < 9e15 && std::fabs(count - std::round(count)) < 1e-9 * count) {
      return fmt::format("{}{}", static_cast<std::uint64_t>(std::round(count)), unit.name);
    }
    if (seconds >= 1 && unit.scale == 1) {
      break; // 1.5s reads better than 1500ms
    }
  }
  // Fixed notation, which parse_duration reads back (it takes no exponent): exact for huge
  // values, within 1e-10 s for the rest.
  if (seconds >= 9e15) {
    return fmt::format("{:.0f}s", seconds);
  }
  auto text = fmt::format("{:.10f}", seconds);
  while (text.back() == '0') {
    text.pop_back();
  }
  if (text.back() == '.') {
    text.pop_back();
  }
  return text + "s";
}

std::string format_size(std::uint64_t bytes) {
  static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t unit = 0;
  while (unit + 1 < std::size(names) && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{} {}", bytes, names[unit]);
}

} // namespace netlab::units
