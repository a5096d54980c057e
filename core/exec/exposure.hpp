// Who exec-server may be exposed to: the rules that refuse a setup in which anyone who can
// connect could run commands, or read and change them on the way (docs/security.md).
#pragma once

#include <optional>
#include <string>

#include "core/net/address.hpp"
#include "core/util/result.hpp"

namespace netlab::exec {

// exec-server's setup as far as exposure goes.
struct ExposureConfig {
  net::Address address;
  bool legacy = false;     // --protocol legacy: unframed, unauthenticated shell lines
  bool token = false;      // a token is required (--token-file or NETLAB_TOKEN)
  bool shell = false;      // --shell
  bool allow_list = false; // --allow PROGRAM given
  bool tls = false;        // --tls
  bool insecure = false;   // --insecure: the user accepts a non-loopback exposure
};

// Combinations that would protect nothing: a token on the unauthenticated legacy protocol, an
// --allow list where shell lines run, --tls on legacy or on a unix socket. Fails with exit code 2.
Result<void> check_modes(const ExposureConfig& config);

// Whether every address `address` resolves to is loopback (a unix socket counts: its file
// permissions guard it). Fails with exit code 2 when it does not resolve.
Result<bool> reachable_only_locally(const net::Address& address);

// Refuses a non-loopback address, unless --insecure, when commands would cross the network in
// clear (framed without --tls), when the legacy protocol would be open to the network, or when no
// token is required. Fails with exit code 2 and a message saying what to add.
Result<void> check_exposure(const ExposureConfig& config);

// The warning to print when no token is required on a TCP address (every local user can run
// commands as this user); none on a unix socket.
std::optional<std::string> no_token_warning(const ExposureConfig& config);

} // namespace netlab::exec
