// Unit tests for core/crypto/digest, against published test vectors.
#include <catch2/catch.hpp>

#include "core/crypto/digest.hpp"

using namespace netlab::crypto;

TEST_CASE("crypto::sha256_hex: matches the FIPS 180-2 test vectors", "[crypto]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 incremental;
  incremental.update("a");
  incremental.update("bc");
  CHECK(incremental.finish_hex() == sha256_hex("abc"));
  incremental.update("");
  CHECK(incremental.finish_hex() == sha256_hex(""));
}

TEST_CASE("crypto::hmac_sha256_hex: matches RFC 4231 test case 2", "[crypto]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("crypto::random_bytes gives fresh bytes; constant_time_equal compares whole strings", "[crypto]") {
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
