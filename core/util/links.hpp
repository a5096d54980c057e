// Busybox-style links: one symlink per command name in a folder, all pointing at one binary.
#pragma once

#include <string>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::links {

struct LinkReport {
  std::vector<std::string> done;    // names linked (install) or removed (uninstall)
  std::vector<std::string> skipped; // uninstall: names present but not links to the binary
};

// Creates `dir/NAME -> target` for every name, all or nothing. A link that already resolves to
// the binary (same file as `target`, or a link to a file named `binary_name`) is replaced, so the
// call is idempotent and moves links to a new install path. Anything else in the way (a file, a
// folder, a link to another program) fails the call before a single link is made: "DIR/NAME
// exists and is not a link to netlab; not replacing it". `dir` must be an existing folder. Each
// link is made under a temporary name and renamed into place, so no moment lacks the name; if
// one fails, the links this call created are removed again.
Result<LinkReport> install(const std::string& dir, const std::vector<std::string>& names, const std::string& target,
                           const std::string& binary_name);

// Removes the `dir/NAME` entries that are links to the binary (as above) and leaves everything
// else, naming it in `skipped`. Names that are absent are neither done nor skipped.
Result<LinkReport> uninstall(const std::string& dir, const std::vector<std::string>& names, const std::string& target,
                             const std::string& binary_name);

} // namespace netlab::links
