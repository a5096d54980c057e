// Packing and unpacking one record of a parsed format, byte for byte as Python's struct does.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/pack/format.hpp"
#include "core/pack/value.hpp"
#include "core/util/result.hpp"

namespace netlab::pack {

// Refuses to build records larger than this: struct.pack would allocate them, a shell tool
// should say no instead of exhausting memory on a typo like "9999999999x".
inline constexpr std::size_t k_max_record = std::size_t{1} << 30;

// Appends the packed record (format.size bytes) to `out`. `values` are command-line texts, one
// per value of `format`, parsed by the code they meet (integers, floats, bools, escaped bytes).
// On failure `out` is left as it was and the message reads like struct.error's.
Result<void> pack_record(const Format& format, std::span<const std::string_view> values, std::string& out);

// Fails when a record of `format` is over k_max_record, with the message pack and unpack share.
Result<void> check_record_size(const Format& format);

// Whether records of `format` can be unpacked at all: Python fails on "0p" (SystemError), so
// netlab reports an error there too rather than inventing a value; and no record over
// k_max_record, since unpack holds a whole record in memory before it decodes one.
Result<void> check_unpackable(const Format& format);

// Unpacks one record of exactly format.size bytes into `out` (cleared first). The format must
// have passed check_unpackable.
void unpack_record(const Format& format, std::string_view record, std::vector<Value>& out);

// Packs and unpacks as one call, for tests and one-shot use.
Result<std::string> pack(const Format& format, std::span<const std::string_view> values);
Result<std::vector<Value>> unpack(const Format& format, std::string_view bytes);

// IEEE 754 half precision, as CPython's PyFloat_Pack2/PyFloat_Unpack2 (round half to even;
// fails on overflow like Python's OverflowError).
Result<std::uint16_t> double_to_half(double value);
double half_to_double(std::uint16_t bits);

} // namespace netlab::pack
