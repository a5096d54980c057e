// What bench sends: slices of one fixed pseudo-random pattern. Every connection starts at its own
// offset, so the byte expected at any stream offset is known without keeping a copy of what was
// sent, and verifying an echo costs one memcmp. Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netlab::bench {

// Bytes in the pattern; it repeats after that. A slice is at most this long.
constexpr std::size_t k_pattern_length = 1 << 20;

// Builds the pattern (once per process). Call it before threads race to.
void prepare_pattern();

// `length` (<= k_pattern_length) pattern bytes from stream offset `offset`, contiguous even where
// the pattern wraps. The view lives as long as the process.
std::string_view pattern_slice(std::uint64_t offset, std::size_t length);

// The byte the pattern has at `offset`.
unsigned char pattern_byte(std::uint64_t offset);

// Where connection `index` starts in the pattern: far enough from its neighbours that two
// streams mixed up would not verify.
std::uint64_t connection_offset(int index);

// The first position where `data` differs from the pattern at `offset`, or none.
std::optional<std::size_t> first_difference(std::uint64_t offset, std::string_view data);

// UDP: datagram number `sequence` (>= 1) of the connection at `base`, `size` (>= 8) bytes: the
// sequence number in its first 8 bytes (so a late answer is told apart from a corrupt one), then
// pattern bytes. Written into `out`, whose capacity is reused.
void make_datagram(std::string& out, std::uint64_t base, std::uint64_t sequence, std::size_t size);

// The sequence number in a datagram's first 8 bytes; none if it is shorter.
std::optional<std::uint64_t> datagram_sequence(std::string_view datagram);

} // namespace netlab::bench
