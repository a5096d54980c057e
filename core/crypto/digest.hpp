// SHA-256, HMAC-SHA256, random bytes and constant-time comparison, all from OpenSSL libcrypto.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace netlab::crypto {

// Lowercase hex, as the wire formats carry digests.
std::string to_hex(std::string_view bytes);

std::string sha256_hex(std::string_view data);

// Whether `text` is a SHA-256 digest as the wire formats carry it: 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text);

// Incremental SHA-256 for data that arrives in pieces (streams, large files).
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  void update(const void* data, std::size_t size);
  // Ends this digest and returns it in hex; the object starts afresh afterwards.
  std::string finish_hex();

private:
  struct State;
  std::unique_ptr<State> m_state;
};

std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// Cryptographically strong random bytes; throws netlab::Error if the RNG fails.
std::string random_bytes(std::size_t count);

// Compares in time that depends only on the lengths, so a MAC check leaks nothing about where
// the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace netlab::crypto
