// libFuzzer target for the command-line value parsers (durations, sizes, counts). Properties: no
// crash; an accepted duration is finite and not negative and formats back to the same value; an
// accepted size or count formats back (through its formatter or decimal) to the same number; an
// error message is one printable line.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/util/units.hpp"

using namespace netlab;

namespace {

void check_message(const std::string& message) {
  for (char c : message) {
    if (static_cast<unsigned char>(c) < 0x20) {
      std::abort();
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto duration = units::parse_duration(text)) {
    if (!std::isfinite(*duration) || *duration < 0) {
      std::abort();
    }
    auto again = units::parse_duration(units::format_duration(*duration));
    if (!again || std::fabs(*again - *duration) > 1e-9 * std::max(1.0, *duration)) {
      std::abort();
    }
  } else {
    check_message(duration.error());
  }
  if (auto bytes = units::parse_size(text)) {
    auto shown = units::format_size(*bytes);
    auto again = units::parse_size(shown.substr(0, shown.find(' ')) +
                                   (shown.ends_with(" B") ? "" : shown.substr(shown.find(' ') + 1)));
    if (!again || *again != *bytes) {
      std::abort();
    }
  } else {
    check_message(bytes.error());
  }
  if (auto count = units::parse_count(text)) {
    if (std::to_string(*count) != text && !(text.size() > 1 && text[text[0] == '-' ? 1 : 0] == '0')) {
      std::abort(); // only leading zeros may make the text differ from the number
    }
  } else {
    check_message(count.error());
  }
  return 0;
}
