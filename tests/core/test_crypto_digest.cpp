// Unit tests for core/crypto/digest, against published test vectors.
#include <catch2/catch.hpp>

#include <random>

#include "core/crypto/background_sha256.hpp"
#include "core/crypto/digest.hpp"

using namespace netlab::crypto;

TEST_CASE("crypto::sha256_hex: FIPS 180-2 vectors", "[crypto]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 incremental;
  incremental.update("a");
  incremental.update("bc");
  CHECK(incremental.finish_hex() == sha256_hex("abc"));
  incremental.update("");
  CHECK(incremental.finish_hex() == sha256_hex(""));
}

TEST_CASE("crypto::hmac_sha256_hex: RFC 4231 case 2", "[crypto]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("crypto::random_bytes and constant_time_equal", "[crypto]") {
  auto a = random_bytes(32);
  auto b = random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
  CHECK(to_hex(a).size() == 64);
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(to_hex(std::string("\x00\xff\x10", 3)) == "00ff10");
}

TEST_CASE("crypto::BackgroundSha256: the same digest as hashing in place, in any chunk sizes", "[crypto]") {
  std::mt19937 random(7);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (auto& c : data) {
    c = static_cast<char>(random());
  }
  const std::size_t buffer_size = 64 * 1024;
  BackgroundSha256 digest(buffer_size, 2);
  std::size_t at = 0;
  while (at < data.size()) {
    auto buffer = digest.take();
    REQUIRE(buffer.size() == buffer_size);
    // Short and empty chunks too, as short reads give.
    std::size_t n = std::min<std::size_t>(random() % (buffer_size + 1), data.size() - at);
    std::copy_n(data.data() + at, n, buffer.data());
    digest.hash(std::move(buffer), n);
    at += n;
  }
  CHECK(digest.finish_hex() == sha256_hex(data));
  // Afresh afterwards, like Sha256.
  CHECK(digest.finish_hex() == sha256_hex(""));
}

TEST_CASE("crypto::BackgroundSha256: destroyed with work queued", "[crypto]") {
  BackgroundSha256 digest(1024, 3);
  for (int i = 0; i < 3; ++i) {
    digest.hash(digest.take(), 1024);
  }
}
