// libFuzzer target: the address parser never crashes, and what it accepts prints back to text
// that parses to the same address.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/net/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = netlab::net::parse_address(text);
  if (!parsed) {
    if (parsed.error().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  auto again = netlab::net::parse_address(parsed->to_string());
  if (!again || again->to_string() != parsed->to_string() || again->port != parsed->port ||
      again->host != parsed->host || again->path != parsed->path) {
    __builtin_trap();
  }
  return 0;
}
