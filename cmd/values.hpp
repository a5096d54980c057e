// Value options in units: one CLI11 transform per kind (duration, size, count) over the parsers in
// core/util/units, so every command accepts "250ms" or "64K" and refuses "1x" or "nan" in the same
// one-line words: `--duration: '1x' is not a duration (like 1.5, 500ms, 2m)`,
// `--max-conns: must be at least 1 (got 0)`.
#pragma once

#include <cstdint>
#include <limits>

#include <CLI/CLI.hpp>

namespace netlab::cmd {

// Bounds of a duration in seconds. `above` makes the minimum exclusive ("must be more than 0").
struct DurationBounds {
  double min = 0;
  bool above = false;
  double max = std::numeric_limits<double>::infinity();
};

// `option` binds a double in seconds. Sets the metavariable SECONDS, shows a default captured
// before this call (capture_default_str) in
// units ("300s" -> "5m"), and replaces any number-with-unit by its seconds before CLI11 converts it.
// Returns `option`.
CLI::Option* as_duration(CLI::Option* option, DurationBounds bounds = {});

// `option` binds an unsigned integer of bytes; metavariable BYTES, default shown as "16 MiB".
CLI::Option* as_size(CLI::Option* option, std::uint64_t min = 0,
                     std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

// `option` binds an integer count; metavariable N (or `name`).
CLI::Option* as_count(CLI::Option* option, std::int64_t min,
                      std::int64_t max = std::numeric_limits<std::int64_t>::max(), const char* name = "N");

} // namespace netlab::cmd
