// SSH host arguments (`[user@]host[:port]`), hosts files and the OpenSSH client config subset
// ssh-exec honours. Pure functions over strings: no sockets, no files, so they are unit-tested.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace netlab::ssh {

// A host as the user wrote it; empty `user` and zero `port` mean "not given", so a later layer
// (--user/--port, the config file, the defaults) can fill them in a fixed order.
struct HostSpec {
  std::string user;
  std::string host;
  int port = 0;
  // The text the user wrote, used to tag output lines and JSON objects.
  std::string label;
};

// Accepts `host`, `user@host`, `host:port`, `user@host:port` and `[v6addr]:port`. A bare IPv6
// address (several colons, no brackets) is taken whole, since a port suffix would be ambiguous.
Result<HostSpec> parse_host(std::string_view text);

// One host per line; blank lines and `#` comments (whole-line or trailing) are ignored. Errors
// name the line number so a long file is easy to fix.
Result<std::vector<HostSpec>> parse_hosts_file(std::string_view text);

// What the OpenSSH client config says about one host. Only the options that change where and as
// whom ssh-exec connects are read; every other keyword is ignored, as ssh would not fail on them.
struct HostConfig {
  std::string hostname;
  std::string user;
  int port = 0;
  std::vector<std::string> identity_files;
};

// Applies ssh_config(5) rules to `text` for `host`: `Host` patterns with `*`, `?` and `!`
// negation, the first value obtained for each option wins, `IdentityFile` accumulates, keywords
// are case-insensitive and `Keyword=value` is accepted. `%h`, `%%` and a leading `~/` (with
// `home`) are expanded in IdentityFile. `Match` blocks are skipped, not evaluated.
Result<HostConfig> resolve_config(std::string_view text, std::string_view host, std::string_view home);

// ssh_config pattern matching for one pattern (no lists, no negation).
bool match_pattern(std::string_view pattern, std::string_view text);

} // namespace netlab::ssh
