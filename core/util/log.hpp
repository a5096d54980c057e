// One-line diagnostics on stderr, prefixed `netlab: COMMAND: ` as design.md requires.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace netlab::log {

// Set once by main() to the running subcommand's name.
void set_command(std::string_view command);
const std::string& command();

// Writes one whole line with a single write(2), so lines from several threads never mix.
// Control characters and invalid UTF-8 in `text` are escaped (core/util/escape.hpp), so a
// message quoting peer-supplied text can neither drive the terminal nor fake a second line.
void line(std::string_view text);

template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  line(fmt::format(format, std::forward<Args>(args)...));
}

} // namespace netlab::log
