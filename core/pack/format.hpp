// Python `struct` format strings: parsing, sizes, alignment and the layout of each field.
// Pure code: it takes strings and returns layouts, so it can be checked against Python case by case.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::pack {

// One format item: a code with its repeat count, placed at `offset` after `padding` alignment
// bytes. For `s` and `p` the count is the byte length and the item takes one value.
struct Item {
  char code = 0;
  std::size_t count = 1;
  std::size_t item_size = 0; // bytes of one repetition (for s/p: of the whole item)
  std::size_t offset = 0;
  std::size_t padding = 0; // alignment bytes inserted before this item (native `@` only)

  std::size_t values() const;
  std::size_t byte_size() const;
};

struct Format {
  std::string text;
  char prefix = '@';  // '@', '=', '<', '>' or '!' ('@' when the format has none)
  bool native = true; // native sizes and alignment (only '@')
  bool little = true; // byte order of the encoded integers and floats
  std::vector<Item> items;
  std::size_t size = 0;   // struct.calcsize
  std::size_t values = 0; // number of values pack takes and unpack returns
};

// Parses `text` exactly as CPython 3.11's struct module does on x86-64 Linux (LP64): the same
// sizes, padding and the same cases rejected, with messages worded like struct.error's.
Result<Format> parse_format(std::string_view text);

// Byte order a field is stored in, for --explain: "native", "little" or "big".
std::string_view order_name(const Format& format);

} // namespace netlab::pack
