// Hex and base64 as text forms of binary data: encoding, and streaming decoding that ignores
// whitespace (so wrapped or line-per-record text reads back).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::pack {

enum class Encoding { raw, hex, base64 };

void append_hex(std::string& out, std::string_view bytes);
void append_base64(std::string& out, std::string_view bytes);

// Decodes text in pieces of any size; errors give the offset in the text.
class TextDecoder {
public:
  explicit TextDecoder(Encoding encoding) : m_encoding(encoding) {}

  // Appends the bytes decoded from `text` to `out`.
  Result<void> feed(std::string_view text, std::string& out);
  // At end of input: fails on a half byte (hex) or a cut-off group (base64).
  Result<void> finish() const;

private:
  Encoding m_encoding;
  std::uint64_t m_offset = 0;
  unsigned m_bits = 0;  // pending bits, most recent in the low end
  unsigned m_count = 0; // hex digits or base64 characters in the current group
  unsigned m_padding = 0;
};

} // namespace netlab::pack
