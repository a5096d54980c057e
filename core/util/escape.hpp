// Makes text from someone else (a peer's file name, a server's error message) safe to print on a
// terminal: nothing in it can move the cursor, change colours, retitle the window or fake a line.
#pragma once

#include <string>
#include <string_view>

namespace netlab {

// Appends `text` to `out`, keeping printable ASCII and valid UTF-8 as they are and writing
// everything a terminal could act on as a visible escape:
// - C0 controls and DEL as `\xHH` (`\n`, `\t`, `\r` for the common three; ESC is `\x1b`),
// - the backslash as `\\`, so an escape in the output always came from this function,
// - C1 controls (U+0080..U+009F) and the bidirectional overrides and isolates (U+202A..U+202E,
//   U+2066..U+2069, which reorder what is shown) as `\uHHHH`,
// - every byte that is not part of valid UTF-8 (stray continuation bytes, overlong forms,
//   surrogates, code points past U+10FFFF, a sequence cut short) as `\xHH`.
// The result holds only printable characters, so it can go anywhere in a one-line message.
// With `keep_backslash` a backslash stays single: the diagnostics sink (log::line) uses that
// on whole messages, whose peer-supplied parts were escaped already, so they are not doubled.
void append_escaped_text(std::string& out, std::string_view text, bool keep_backslash = false);

// The same, returned as a new string: `fmt::format("'{}'", escape_text(name))`.
std::string escape_text(std::string_view text);

} // namespace netlab
