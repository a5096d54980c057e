// Unit tests for core/util/escape: peer text comes out with nothing a terminal could act on.
#include <catch2/catch.hpp>

#include <string>

#include "core/util/escape.hpp"

using netlab::escape_text;

namespace {

// True when `text` holds only printable ASCII or multi-byte UTF-8 lead/continuation bytes
// and no C1 control or bidi override survives.
bool terminal_safe(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return false;
    }
  }
  return text.find("\xe2\x80\xae") == std::string::npos;
}

} // namespace

TEST_CASE("escape_text: printable ASCII and valid UTF-8 pass through") {
  CHECK(escape_text("plain name.txt") == "plain name.txt");
  CHECK(escape_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(escape_text("") == "");
}

TEST_CASE("escape_text: C0 controls, DEL, ESC and the backslash become visible") {
  CHECK(escape_text("a\x1b[2Jb") == "a\\x1b[2Jb");
  CHECK(escape_text("line\nfake: ok\r\t") == "line\\nfake: ok\\r\\t");
  CHECK(escape_text(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(escape_text("del\x7f") == "del\\x7f");
  CHECK(escape_text("back\\x1b") == "back\\\\x1b");
}

TEST_CASE("escape_text: C1 controls and bidi overrides are shown as code points") {
  // U+009B is the one-byte CSI: "\xc2\x9b" + "2J" clears some terminals' screens.
  CHECK(escape_text("\xc2\x9b"
                    "2J") == "\\u009b2J");
  CHECK(escape_text("\xc2\x85") == "\\u0085");
  CHECK(escape_text("txt.\xe2\x80\xae"
                    "exe") == "txt.\\u202eexe");
  CHECK(escape_text("\xe2\x81\xa6x\xe2\x81\xa9") == "\\u2066x\\u2069");
  CHECK(escape_text("\xc2\xa0") == "\xc2\xa0");
}

TEST_CASE("escape_text: bytes outside valid UTF-8 are shown byte by byte") {
  CHECK(escape_text("\x80") == "\\x80");
  CHECK(escape_text("\x9b"
                    "2J") == "\\x9b2J");                            // a raw C1 byte (Latin-1 CSI)
  CHECK(escape_text("\xc0\x80") == "\\xc0\\x80");                   // overlong NUL
  CHECK(escape_text("\xe0\x80\x9b") == "\\xe0\\x80\\x9b");          // overlong C1
  CHECK(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");          // a surrogate
  CHECK(escape_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // past U+10FFFF
  CHECK(escape_text("ok\xe2\x82") == "ok\\xe2\\x82");               // cut short at the end
  CHECK(escape_text("\xe2\x1b") == "\\xe2\\x1b");                   // cut short by a control
}

TEST_CASE("escape_text: every single byte and pair of bytes comes out terminal-safe") {
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    REQUIRE(terminal_safe(escape_text(one)));
    for (int b = 0; b < 256; ++b) {
      std::string two = one + static_cast<char>(b);
      REQUIRE(terminal_safe(escape_text(two)));
    }
  }
}

TEST_CASE("append_escaped_text: keep_backslash leaves backslashes single, still escapes controls") {
  std::string out;
  netlab::append_escaped_text(out, "a\\b\x1b", true);
  CHECK(out == "a\\b\\x1b");
}
