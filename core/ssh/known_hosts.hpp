// known_hosts matching with OpenSSH's rules (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT", hostfile.c and
// sshconnect.c of OpenSSH 9.2): one pure function of (files' text, host, port, server key) that
// gives the verdict ssh would give, so ssh-exec and pool-run --ssh refuse exactly what ssh refuses.
//
// libssh is used only to parse a line's key (ssh_pki_import_pubkey_base64) and to compare keys
// (ssh_key_cmp); the line syntax, the markers, the host patterns and the hashed names are read
// here, because libssh 0.10's own reader ignores @revoked, negations and port-less lines.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <libssh/libssh.h>

namespace netlab::ssh::known_hosts {

// One known_hosts file's contents and the name used in messages (its path).
struct Source {
  std::string name;
  std::string_view text;
};

enum class Status {
  ok,      // a line for the host holds this key
  changed, // lines for the host hold other keys (of any type), none holds this one
  revoked, // a @revoked line for the host holds this key: refused whatever else matches
  unknown, // no valid line applies to the host
};

// Where a line is: `file`:`line` (1-based), for messages.
struct Place {
  std::string file;
  std::size_t line = 0;
  bool empty() const { return line == 0; }
  std::string text() const;
};

struct Verdict {
  Status status = Status::unknown;
  // The deciding line: the matching key (ok), the first other key (changed), the @revoked line.
  Place place;
  // ok through the port-less fallback: a server on a port other than 22 that no
  // "[host]:port" line names is looked up again as plain "host", as ssh does.
  bool portless = false;
  // unknown, but plain "host" (port 22) holds other keys: ssh ignores them for this port and so
  // does the verdict; kept for the message.
  Place portless_other;
  // A @cert-authority line applies to the host. netlab does not do host certificates, so such a
  // line never accepts a key; it is named in refusals so the user knows why it did not help.
  Place cert_authority;
  // Lines that named the host but could not be read (bad base64, unknown type, truncated key),
  // plus hashed names that could not be read (their host is unknown): skipped, as by ssh, and
  // never change the verdict.
  std::size_t malformed = 0;
};

// The name a host is looked up under: "host" for port 22 (and 0), "[host]:port" otherwise,
// lower-cased as ssh does with the name it connects to.
std::string lookup_name(std::string_view host, int port);

// The verdict for `key` offered by `host`:`port`, reading `files` in order (user file first,
// then the global one) as one list, as ssh does. Deterministic; never throws; touches no file.
Verdict check(const std::vector<Source>& files, std::string_view host, int port, ssh_key key);

// The line --accept-new appends for `key`: "lookup_name key-type base64\n". Empty if libssh
// cannot export the key.
std::string entry_line(std::string_view host, int port, ssh_key key);

// The host-key algorithms to offer, ssh's way (order_hostkeyalgs): when known_hosts holds a key
// of the first preference (ssh-ed25519) for "[host]:port" the default order as is, otherwise the
// algorithms of the keys it holds first. Without this the server might offer a key of a type
// the file does not hold and the verdict would be "changed" where ssh's is "ok".
std::string preferred_algorithms(const std::vector<Source>& files, std::string_view host, int port);

// OpenSSH's match_pattern_list over a lower-case `name`: 1 when a pattern matches, -1 when a
// negated one (`!pattern`) does, which makes the whole list not apply, else 0. Patterns are
// comma-separated with `*` and `?`; a pattern of 1023 characters or more makes the list fail.
int match_pattern_list(std::string_view name, std::string_view patterns);

// OpenSSH's hashed host name for `name` with `salt` (20 bytes): "|1|base64(salt)|base64(HMAC-
// SHA1(salt, name))", what `ssh-keygen -H` writes.
std::string hash_name(std::string_view name, std::string_view salt);

} // namespace netlab::ssh::known_hosts
