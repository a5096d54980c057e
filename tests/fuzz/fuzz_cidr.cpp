// libFuzzer target: CIDR rules (--allow-from, --deny-from). The parser never crashes; a block it
// accepts prints back to text that parses to the same block; the block contains its own network
// and, for a prefix shorter than the address, the last address of the block, and never an
// address of the other family.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/net/cidr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = netlab::net::parse_cidr(text);
  if (!parsed) {
    if (parsed.error().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  const auto& block = *parsed;
  if (block.prefix > block.network.bits()) {
    __builtin_trap();
  }
  auto again = netlab::net::parse_cidr(block.to_string());
  if (!again || again->prefix != block.prefix || again->network != block.network ||
      again->to_string() != block.to_string()) {
    __builtin_trap();
  }
  if (!block.contains(block.network)) {
    __builtin_trap();
  }
  // The last address of the block: every host bit set.
  auto last = block.network;
  for (unsigned bit = block.prefix; bit < block.network.bits(); ++bit) {
    last.bytes[bit / 8] = static_cast<std::uint8_t>(last.bytes[bit / 8] | (0x80u >> (bit % 8)));
  }
  if (!block.contains(last)) {
    __builtin_trap();
  }
  // Just past the block (when there is a "past"): flip the last network bit.
  if (block.prefix > 0) {
    auto outside = block.network;
    unsigned bit = block.prefix - 1;
    outside.bytes[bit / 8] = static_cast<std::uint8_t>(outside.bytes[bit / 8] ^ (0x80u >> (bit % 8)));
    if (block.contains(outside)) {
      __builtin_trap();
    }
  }
  auto other = block.network;
  other.v4 = !other.v4;
  if (block.contains(other)) {
    __builtin_trap();
  }
  return 0;
}
