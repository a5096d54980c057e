// CLI11 transforms over core/util/units: parse, check the bounds, hand CLI11 a plain number.
#include "cmd/values.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/util/units.hpp"

namespace netlab::cmd {
namespace {

// A bound as people write it: 3600 not 3600.000000.
std::string plain(double value) { return fmt::format("{}", value); }

} // namespace

CLI::Option* as_duration(CLI::Option* option, DurationBounds bounds) {
  option->type_name("SECONDS");
  if (auto shown = option->get_default_str(); !shown.empty()) {
    if (auto seconds = units::parse_duration(shown)) {
      option->default_str(units::format_duration(*seconds));
    }
  }
  option->transform(CLI::Validator(
      [bounds](std::string& text) -> std::string {
        auto seconds = units::parse_duration(text);
        if (!seconds) {
          return seconds.error();
        }
        if (bounds.above && *seconds <= bounds.min) {
          return fmt::format("must be more than {}s (got {})", plain(bounds.min), text);
        }
        if (*seconds < bounds.min) {
          return fmt::format("must be at least {}s (got {})", plain(bounds.min), text);
        }
        if (*seconds > bounds.max) {
          return fmt::format("must be at most {} (got {})", units::format_duration(bounds.max), text);
        }
        text = fmt::format("{}", *seconds);
        return {};
      },
      "", "duration"));
  return option;
}

CLI::Option* as_size(CLI::Option* option, std::uint64_t min, std::uint64_t max) {
  option->type_name("BYTES");
  if (auto shown = option->get_default_str(); !shown.empty()) {
    if (auto bytes = units::parse_size(shown)) {
      option->default_str(units::format_size(*bytes));
    }
  }
  option->transform(CLI::Validator(
      [min, max](std::string& text) -> std::string {
        auto bytes = units::parse_size(text);
        if (!bytes) {
          return bytes.error();
        }
        if (*bytes < min) {
          return fmt::format("must be at least {} (got {})", units::format_size(min), text);
        }
        if (*bytes > max) {
          return fmt::format("must be at most {} (got {})", units::format_size(max), text);
        }
        text = std::to_string(*bytes);
        return {};
      },
      "", "size"));
  return option;
}

CLI::Option* as_count(CLI::Option* option, std::int64_t min, std::int64_t max, const char* name) {
  option->type_name(name);
  option->transform(CLI::Validator(
      [min, max](std::string& text) -> std::string {
        auto count = units::parse_count(text);
        if (!count) {
          return count.error();
        }
        if (*count < min) {
          return fmt::format("must be at least {} (got {})", min, text);
        }
        if (*count > max) {
          return fmt::format("must be at most {} (got {})", max, text);
        }
        return {};
      },
      "", "count"));
  return option;
}

} // namespace netlab::cmd
