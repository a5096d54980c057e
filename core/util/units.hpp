// Numbers with units as people type them on a command line: durations ("250ms", "1.5", "2m"),
// sizes ("64K", "16MiB") and counts ("8"). One set of parsers for every command, so every option
// accepts the same spellings and refuses bad ones with the same words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::units {

// Seconds from a number with an optional unit: "1.5" (seconds, as timeout(1) and GNU parallel
// read a bare number), "1.5s", "250ms", "100us", "2m", "1h", "1d". The result is finite and >= 0;
// nan, inf, a sign, spaces and unknown units fail with "'1x' is not a duration (like 1.5, 500ms,
// 2m)". No range beyond that: callers state their own minimum and maximum.
Result<double> parse_duration(std::string_view text);

// Bytes from a number with an optional unit: "4096", "4096B", binary "64K"/"64KiB"/"64k",
// "16M"/"16MiB", "1G"/"1GiB", "1T"/"1TiB", decimal "1KB"/"1MB"/"1GB"/"1TB" (powers of 1000, as
// dd(1) reads them). A fraction is allowed with a unit ("1.5K" is 1536) and must come out a whole
// number of bytes. Fails with "'12Q' is not a size (like 4096, 64K, 16MiB)", or "... is too large"
// past 2^64 - 1.
Result<std::uint64_t> parse_size(std::string_view text);

// A whole number, optionally negative: "8", "-1". Fails with "'1.5' is not a whole number" (or
// "... is too large").
Result<std::int64_t> parse_count(std::string_view text);

// A plain decimal number, finite and >= 0, without a unit: "1000", "0.5". Fails with "'x' is not a
// number (like 10 or 0.5)".
Result<double> parse_number(std::string_view text);

// The shortest exact spelling parse_duration reads back to the same value where one exists:
// 300 -> "300s", 0.25 -> "250ms", 120 -> "2m", 0 -> "0s", 1.5 -> "1.5s".
std::string format_duration(double seconds);

// Bytes as people read them, exact: 16777216 -> "16 MiB", 1536 -> "1536 B", 1073741824 -> "1 GiB".
std::string format_size(std::uint64_t bytes);

} // namespace netlab::units
