#include "core/bench/pattern.hpp"

#include <cstring>
#include <random>

namespace netlab::bench {
namespace {

// The pattern twice over, so a slice of up to k_pattern_length bytes at any offset is contiguous.
const std::string& doubled_pattern() {
  static const std::string pattern = [] {
    std::string bytes(2 * k_pattern_length, '\0');
    std::mt19937_64 random(0x6e65746c6162ULL); // fixed: runs are reproducible
    for (std::size_t i = 0; i < k_pattern_length; i += 8) {
      std::uint64_t word = random();
      std::memcpy(bytes.data() + i, &word, 8);
    }
    std::memcpy(bytes.data() + k_pattern_length, bytes.data(), k_pattern_length);
    return bytes;
  }();
  return pattern;
}

} // namespace

void prepare_pattern() { doubled_pattern(); }

std::string_view pattern_slice(std::uint64_t offset, std::size_t length) {
  return std::string_view(doubled_pattern()).substr(offset % k_pattern_length, length);
}

unsigned char pattern_byte(std::uint64_t offset) {
  return static_cast<unsigned char>(doubled_pattern()[offset % k_pattern_length]);
}

std::uint64_t connection_offset(int index) { return static_cast<std::uint64_t>(index) * 104729; }

std::optional<std::size_t> first_difference(std::uint64_t offset, std::string_view data) {
  auto expected = pattern_slice(offset, data.size());
  if (std::memcmp(expected.data(), data.data(), data.size()) == 0) {
    return std::nullopt;
  }
  std::size_t at = 0;
  while (expected[at] == data[at]) {
    ++at;
  }
  return at;
}

void make_datagram(std::string& out, std::uint64_t base, std::uint64_t sequence, std::size_t size) {
  out.resize(size);
  std::memcpy(out.data(), &sequence, 8);
  auto rest = pattern_slice(base + sequence * 8191, size - 8);
  std::memcpy(out.data() + 8, rest.data(), rest.size());
}

std::optional<std::uint64_t> datagram_sequence(std::string_view datagram) {
  if (datagram.size() < 8) {
    return std::nullopt;
  }
  std::uint64_t sequence = 0;
  std::memcpy(&sequence, datagram.data(), 8);
  return sequence;
}

} // namespace netlab::bench
