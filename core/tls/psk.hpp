// The pre-shared key exec-server and exec-client derive from their shared token for TLS 1.3
// external-PSK mode (psk_dhe_ke: the key authenticates, (EC)DHE gives forward secrecy).
//
//   key      = HKDF-SHA256(IKM = the token's bytes, salt = empty, info = k_psk_label, L = 32)
//   identity = k_psk_identity (ASCII, sent in clear in the ClientHello)
//   cipher   = TLS_AES_128_GCM_SHA256 (the PSK's hash is SHA-256)
//
// The token itself never crosses the wire; another implementation can derive the same key, e.g.
// `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:TOKEN -kdfopt info:LABEL HKDF`.
#pragma once

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace netlab::tls {

inline constexpr std::string_view k_psk_label = "netlab exec tls psk v1";
inline constexpr std::string_view k_psk_identity = "netlab-exec";
inline constexpr std::size_t k_psk_size = 32;

// The 32-byte key for `token` (raw bytes, not hex).
Result<std::string> derive_psk(std::string_view token);

} // namespace netlab::tls
