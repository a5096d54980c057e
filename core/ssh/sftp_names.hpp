// Names that come from an SFTP server and become local file names, and the temporary names a
// transfer writes under before renaming into place.
#pragma once

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::ssh {

// A name from a server's folder listing is one path component of the local folder it lands in:
// refused when empty, "." or "..", or holding '/' or NUL (the class of scp's CVE-2019-6111). The
// error says why, for the message that reports the name.
Result<void> check_listing_name(std::string_view name);

// `name` for a message: quoted, with bytes other than printable ASCII written as \xNN, so a
// hostile name cannot draw on the terminal.
std::string quote_name(std::string_view name);

// A fresh name for a temporary file: ".netlab-" and 12 random letters and digits (71 bits), short
// so that it fits in NAME_MAX wherever the destination's own name does.
std::string temporary_name();
inline constexpr std::string_view k_temporary_prefix = ".netlab-";

} // namespace netlab::ssh
