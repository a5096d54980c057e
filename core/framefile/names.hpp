// File names inside frame files (protocol.md §2): what a packer stores and what an unpacker accepts.
#pragma once

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::framefile {

// The name stored for a path given to `pack --frame`: normalised, relative (a leading '/' is
// dropped, as tar does). A path that still climbs with ".." is refused: the unpacker would
// refuse the name anyway, better to say so when packing. So is one check_storable refuses.
Result<std::string> stored_name(std::string_view path);

// Whether `name` can travel in a frame header as it is. Headers are JSON, whose strings hold
// only valid UTF-8: the encoder would put U+FFFD for other bytes, so the unpacker would write
// another name, and two such names could become one (the second then replaces the first with
// --force). The error names the file with those bytes escaped.
Result<void> check_storable(std::string_view name);

// Accepts only names that stay inside the target folder: relative, no empty, "." or ".."
// components, no NUL, at most 4096 bytes.
Result<void> check_name(std::string_view name);

} // namespace netlab::framefile
