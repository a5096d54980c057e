// HKDF through OpenSSL 3's EVP_KDF: no hand-written cryptography.
#include "core/tls/psk.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "core/tls/context.hpp"

namespace netlab::tls {

Result<std::string> derive_psk(std::string_view token) {
  if (token.empty()) {
    return fail("derive the TLS key: the token is empty");
  }
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) {
    return fail(take_error("derive the TLS key: no HKDF"));
  }
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) {
    return fail(take_error("derive the TLS key"));
  }
  char digest[] = "SHA256";
  std::string key_material(token);
  std::string label(k_psk_label);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key_material.data(), key_material.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, label.data(), label.size()),
      OSSL_PARAM_construct_end(),
  };
  std::string key(k_psk_size, '\0');
  int rc = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(key.data()), key.size(), params);
  EVP_KDF_CTX_free(ctx);
  OPENSSL_cleanse(key_material.data(), key_material.size());
  if (rc != 1) {
    return fail(take_error("derive the TLS key"));
  }
  return key;
}

} // namespace netlab::tls
